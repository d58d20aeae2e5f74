"""One StyleGAN training step, shared by ``scripts/train_stylegan.py`` and lesson 7.

The recipe (Karras et al. 2019 and 2020, official code): non-saturating loss
(Goodfellow et al. 2014), lazy R1 on real images every ``r1_every`` D steps,
scaled by ``r1_every`` (Mescheder et al. 2018; StyleGAN2, Sec. 3.1), Adam with
β = (0, 0.99), style-mixing regularisation (StyleGAN, Sec. 3.1), the running
average w̄ (Appendix B), and an exponential moving average of G's weights
whose half-life is ``ema_kimg`` thousand images (ramped up over the first
steps), which is the generator one samples from.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor

from coursekit.losses import d_loss_bce, g_loss_nonsaturating, r1_penalty
from coursekit.stylegan import StyleDiscriminator, StyleGenerator, check_crossovers, mixing_regularised_ws


@dataclass(frozen=True)
class StyleGANRecipe:
    """Hyper-parameters of :func:`train_step` (defaults: the shipped lesson-7 run)."""

    batch: int = 32
    lr: float = 0.002
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float = 1.0
    r1_every: int = 16
    mixing_prob: float = 0.9
    ema_kimg: float = 5.0
    mixing_crossovers: tuple[int, ...] | None = None  # None: uniform over 1..num_ws-1 (StyleGAN's)

    def __post_init__(self):
        if self.batch < 2 or self.lr <= 0 or self.r1_gamma < 0 or self.r1_every < 1 or self.ema_kimg <= 0:
            raise ValueError(f"invalid recipe {self}")
        if not 0 <= self.mixing_prob <= 1:
            raise ValueError(f"mixing_prob must be in [0, 1], got {self.mixing_prob}")
        if self.mixing_crossovers is not None:
            check_crossovers(self.mixing_crossovers)  # below num_ws is checked when G is known

    def ema_beta(self, step: int) -> float:
        """Weight of the old average at ``step``: ``0.5^(batch / (1000·ema_kimg))``, ramped up as ``(t+1)/(t+10)``."""
        return min(0.5 ** (self.batch / (self.ema_kimg * 1000)), (step + 1) / (step + 10))


class StyleGANTraining:
    """G, its moving average ``G_ema``, D and their Adams: everything :func:`train_step` updates."""

    def __init__(self, G: StyleGenerator, D: StyleDiscriminator, recipe: StyleGANRecipe = StyleGANRecipe(),
                 G_ema: StyleGenerator | None = None):
        self.G, self.D, self.recipe = G, D, recipe
        self.G_ema = (G_ema if G_ema is not None else copy.deepcopy(G)).eval().requires_grad_(False)
        self.opt_g = torch.optim.Adam(G.parameters(), lr=recipe.lr, betas=recipe.betas, eps=1e-8)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=recipe.lr, betas=recipe.betas, eps=1e-8)
        self.step = 0

    def state_dict(self) -> dict:
        return {"G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(), "D": self.D.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        for key in ("G", "G_ema", "D", "opt_g", "opt_d"):
            getattr(self, key).load_state_dict(state[key])
        self.step = int(state["step"])


def train_step(t: StyleGANTraining, real: Tensor) -> dict[str, float]:
    """One D step then one G step on ``real`` ``[B, C, R, R]``; returns the losses (and R1 on its steps)."""
    G, D, r = t.G, t.D, t.recipe
    b, device = real.shape[0], real.device
    # --- discriminator: non-saturating loss on a style-mixed fake batch, lazy R1 on the real one
    with torch.no_grad():
        ws, _ = mixing_regularised_ws(G, torch.randn(b, G.z_dim, device=device),
                                      torch.randn(b, G.z_dim, device=device), r.mixing_prob, r.mixing_crossovers)
        fake = G.synthesis(ws)  # [B, C, R, R]
    d_loss = d_loss_bce(D(real), D(fake))
    out = {"d_loss": d_loss.item()}
    if r.r1_gamma > 0 and t.step % r.r1_every == 0:
        r1 = r1_penalty(D, real)  # E‖∇_x D(x)‖² on real images
        d_loss = d_loss + 0.5 * r.r1_gamma * r.r1_every * r1
        out["r1"] = r1.item()
    t.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    t.opt_d.step()
    # --- generator: non-saturating loss with style-mixing regularisation, then w̄
    ws, w = mixing_regularised_ws(G, torch.randn(b, G.z_dim, device=device),
                                  torch.randn(b, G.z_dim, device=device), r.mixing_prob, r.mixing_crossovers)
    g_loss = g_loss_nonsaturating(D(G.synthesis(ws)))
    t.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    t.opt_g.step()
    G.update_w_avg(w)
    # --- G_ema ← β·G_ema + (1 − β)·G; buffers (w̄, the constant noise) copied
    beta = r.ema_beta(t.step)
    with torch.no_grad():
        for p_ema, p in zip(t.G_ema.parameters(), G.parameters()):
            p_ema.lerp_(p, 1.0 - beta)
        for b_ema, b_ in zip(t.G_ema.buffers(), G.buffers()):
            b_ema.copy_(b_)
    t.step += 1
    out["g_loss"] = g_loss.item()
    return out
