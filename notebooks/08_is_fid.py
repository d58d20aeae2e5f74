# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 8: Inception Score and FID from scratch, their pitfalls, and a leaderboard
#
# Most image-GAN papers report the **Inception Score** (IS, Salimans et al. 2016) and the
# **Fréchet Inception Distance** (FID, Heusel et al. 2017). Both reduce a set of samples
# to one number through a pretrained classifier. In this lesson we compute both from
# scratch, check them against the reference libraries, and then break them on purpose:
#
# 1. IS from scratch, on real digits;
# 2. how IS is fooled by ten real digits repeated (and why: IS never looks at the real data);
# 3. FID from scratch: the Fréchet distance in 1-D and in d dimensions, checked against
#    pytorch-fid, torch-fidelity and torchmetrics on the same features;
# 4. why FID needs many samples: rank-deficient covariances, the bias in N, and FID∞;
# 5. KID, an unbiased alternative;
# 6. precision and recall, which separate quality from diversity (a collapsed set, a truncation sweep);
# 7. the standard Inception-v3 path;
# 8. a leaderboard of the models of lessons 2, 4, 5 and 6.
#
# **Features.** Inception-v3 was trained on ImageNet photographs; MNIST digits are far from
# them, and its weights cannot be downloaded offline. The course ships a small MNIST
# classifier instead (`coursekit.features`, trained by `scripts/train_mnist_classifier.py` on
# the training digits; its held-out accuracy is printed below): its softmax plays the role of
# Inception's class probabilities for IS, and its 128-d penultimate layer the role of
# Inception's 2048-d pool features for FID, KID and precision/recall. Numbers computed with it
# are *not* comparable with published Inception FIDs; they are comparable with each other.

# %%
import math
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg
import torch
from IPython.display import Markdown, display
from scipy.stats import norm

from coursekit import leaderboard as lb
from coursekit import metrics
from coursekit.data import load_mnist
from coursekit.features import inception_features, load_inception, load_mnist_classifier, mnist_features
from coursekit.plots import draw_image_grid
from coursekit.runtime import is_quick, quick_or_full, start_lesson

torch.set_num_threads(1)  # small models: one thread avoids oversubscription
device = start_lesson(seed=0)

REPEATS = quick_or_full(2, 5)  # random subsets per sample size in the FID-vs-N study
KID_SUBSETS = quick_or_full(5, 25)
TRUNCATIONS = quick_or_full([0.5, 1.0], [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5])
N_EVAL = 1000  # samples per measurement unless said otherwise

# %% [markdown]
# ## 0. Data and features
#
# The real reference set is the training split (what the GANs of the earlier lessons were
# trained on); the held-out split is a second sample of real digits that no model and not the
# classifier ever saw.

# %%
x_train, y_train = load_mnist(train=True)
x_test, y_test = load_mnist(train=False)
classifier = load_mnist_classifier(device)
f_train, p_train = mnist_features(x_train, classifier=classifier)
f_test, p_test = mnist_features(x_test, classifier=classifier)
N_EVAL = min(N_EVAL, len(x_test))
print(f"features: train {tuple(f_train.shape)}, held-out {tuple(f_test.shape)}; "
      f"classifier accuracy on held-out digits: {(p_test.argmax(1) == y_test).float().mean():.4f}")

# %% [markdown]
# ## 1. The Inception Score from scratch
#
# A classifier gives each image $x$ a distribution $p(y\mid x)$ over the 10 classes. The
# marginal $p(y) = \mathbb E_x\, p(y\mid x)$ is the class histogram of the whole set. Then
#
# $$\mathrm{IS} = \exp\Big(\mathbb E_x\, \mathrm{KL}\big(p(y\mid x)\,\|\,p(y)\big)\Big)
#   = \exp\big(H(y) - \mathbb E_x H(y\mid x)\big).$$
#
# It is high when every image is classified confidently (low $H(y\mid x)$) **and** the classes
# are balanced (high $H(y)$); it ranges from 1 to the number of classes, 10. Salimans et al.
# compute it on 10 **splits** of the samples and report mean ± std over the splits; the
# marginal is each split's own. Here it is in a few lines of NumPy:

# %%
def inception_score_scratch(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    probs = np.asarray(probs, dtype=np.float64)
    n, scores = len(probs), []
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]  # [n_i, 10]
        p_y = part.mean(axis=0, keepdims=True)  # the marginal of this split, [1, 10]
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(p_y)), 0.0).sum(axis=1)  # KL(p(y|x) || p(y))
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


# %% [markdown]
# Checked against `coursekit.metrics.inception_score` and torch-fidelity's IS (which takes
# logits; $\log p$ are valid logits; `shuffle=False` keeps the same split boundaries):

# %%
from torch_fidelity.metric_isc import isc_features_to_metric

ours = inception_score_scratch(p_test.numpy(), 10)
ck = metrics.inception_score(p_test, splits=10)
tf = isc_features_to_metric(torch.log(p_test.double()), splits=10, shuffle=False)
tf = (tf["inception_score_mean"], tf["inception_score_std"])
print(f"{'':28s}{'mean':>12s}{'std':>12s}")
for name, (m, s) in [("from scratch", ours), ("coursekit.metrics", ck), ("torch-fidelity", tf)]:
    print(f"{name:28s}{m:12.8f}{s:12.8f}")
print(f"max relative difference of the means: {max(abs(ck[0] - ours[0]), abs(tf[0] - ours[0])) / tf[0]:.1e}")

# %% [markdown]
# The IS of real digits: the held-out split, the training split, and how the number depends
# on the split size (each split estimates its own $p(y)$ from $N/\text{splits}$ images).

# %%
probs_test = p_test.double().numpy()
entropy_y = -(probs_test.mean(0) * np.log(probs_test.mean(0))).sum()
entropy_y_given_x = -(probs_test * np.log(np.clip(probs_test, 1e-300, None))).sum(1).mean()
print(f"held-out ({len(p_test)} digits): IS = {ours[0]:.3f} ± {ours[1]:.3f} (10 splits); one split: "
      f"exp(H(y) − E H(y|x)) = exp({entropy_y:.3f} − {entropy_y_given_x:.3f}) = "
      f"{math.exp(entropy_y - entropy_y_given_x):.3f}")
print(f"training ({len(p_train)} digits): IS = {metrics.inception_score(p_train, 10)[0]:.3f} "
      f"± {metrics.inception_score(p_train, 10)[1]:.3f} (10 splits)")
for splits in (1, 2, 5, 10, 20, 50):
    m, s = metrics.inception_score(p_test, splits=splits)
    print(f"  held-out, splits={splits:3d} ({len(p_test) // splits:4d} images each): IS = {m:.3f} ± {s:.3f}")

# %% [markdown]
# The maximum is 10, reached only by a classifier that is certain of every image while the
# ten classes are equally frequent. Real digits fall short of it because the classifier is not
# certain of every real digit, and small splits estimate $p(y)$ poorly (the table above: fewer
# images per split, lower IS). **IS depends on the classifier and on N**: only numbers from
# the same classifier and the same N can be compared; a "real MNIST IS" quoted from elsewhere
# used another classifier.
#
# ## 2. IS is fooled by ten images
#
# Take, for each digit, the one training image the classifier is most sure about, and repeat
# these ten images until there are as many as held-out digits. Every image is real and sharp,
# the classes are perfectly balanced, and there is **no diversity at all**.

# %%
sharpest = torch.stack([torch.nonzero(y_train == c).flatten()[p_train[y_train == c, c].argmax()] for c in range(10)])
ten = x_train[sharpest]  # [10, 1, 28, 28]
ten_repeated = ten.repeat(N_EVAL // 10, 1, 1, 1)  # [N_EVAL, 1, 28, 28]
f_ten, p_ten = mnist_features(ten_repeated, classifier=classifier)
one_class = x_test[y_test == 1][: N_EVAL // 10].repeat(10, 1, 1, 1)[:N_EVAL]  # real 1s only
f_one, p_one = mnist_features(one_class, classifier=classifier)

fig, ax = plt.subplots(figsize=(7, 1))
draw_image_grid(ax, ten, nrow=10)
plt.show()
is_test, is_ten, is_one = (metrics.inception_score(p, 10) for p in (p_test[:N_EVAL], p_ten, p_one))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)
    fid_test, fid_ten, fid_one = (metrics.fid_from_features(f, f_train) for f in (f_test[:N_EVAL], f_ten, f_one))
print(f"{'set of ' + str(N_EVAL) + ' images':40s}{'IS':>16s}{'FID vs train':>14s}")
for name, (m, s), fid in [("real held-out digits", is_test, fid_test), ("10 sharp digits, repeated", is_ten, fid_ten),
                          ("real 1s only", is_one, fid_one)]:
    print(f"{name:40s}{m:9.3f} ± {s:4.2f}{fid:14.1f}")

# %% [markdown]
# The ten repeated images score *higher* than the real held-out digits, at or next to the
# maximum of 10 (the table above), while a set of perfect, real 1s scores about 1. IS rewards confident,
# class-balanced outputs, and that is all: it **never looks at the real data**. Nothing in
# the formula compares the samples with the training set, so memorising ten images, or
# producing one perfect image per class, maximises it; and it cannot see diversity *within*
# a class at all (Barratt & Sharma 2018, *A Note on the Inception Score*). FID, which
# compares with real data, puts the repeated set far behind the held-out digits.
#
# ## 3. FID from scratch
#
# FID fits a Gaussian to the features of each set and reports the **squared Fréchet
# (Wasserstein-2) distance** between the two Gaussians (Dowson & Landau 1982; Heusel et al.
# 2017, Eq. 6):
#
# $$d^2 = \lVert\mu_1-\mu_2\rVert^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
#        - 2\operatorname{tr}\big(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}\big)^{1/2}.$$
#
# ### In 1-D
#
# With $\Sigma = s^2$ the formula becomes $(\mu_1-\mu_2)^2 + s_1^2 + s_2^2 - 2 s_1 s_2 =
# (\mu_1-\mu_2)^2 + (s_1-s_2)^2$. The Wasserstein-2 distance between two 1-D distributions
# is also $\int_0^1 (F_1^{-1}(u) - F_2^{-1}(u))^2\,du$ (matching quantiles), which we can
# integrate numerically as an independent check:

# %%
def frechet_1d(mu1: float, s1: float, mu2: float, s2: float) -> float:
    return (mu1 - mu2) ** 2 + (s1 - s2) ** 2


u = (np.arange(200_000) + 0.5) / 200_000  # midpoint rule on (0, 1)
for mu1, s1, mu2, s2 in [(0.0, 1.0, 0.0, 1.0), (0.0, 1.0, 2.0, 1.0), (0.0, 1.0, 0.0, 3.0), (1.5, 0.5, -1.0, 2.0)]:
    quantiles = np.mean((norm.ppf(u, mu1, s1) - norm.ppf(u, mu2, s2)) ** 2)
    print(f"N({mu1}, {s1}²) vs N({mu2}, {s2}²): closed form {frechet_1d(mu1, s1, mu2, s2):.6f}, "
          f"quantile integral {quantiles:.6f}")

# %% [markdown]
# ### In d dimensions
#
# The hard part is $\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}$. Two ways:
#
# - **`scipy.linalg.sqrtm(Σ1 Σ2)`**, as pytorch-fid and torch-fidelity do. The product is not
#   symmetric, so this is a general (Schur) matrix square root, and rounding leaves small
#   imaginary parts that must be dropped.
# - **The symmetric form.** $\Sigma_1\Sigma_2$ has the same eigenvalues as the symmetric
#   positive semi-definite $M = \Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}$, so
#   $\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2} = \sum_i \sqrt{\lambda_i(M)}$ with `eigvalsh`:
#   real, with no imaginary round-off to drop (`coursekit.metrics` uses a Cholesky factor of
#   $\Sigma_1$ in place of $\Sigma_1^{1/2}$, which gives the same eigenvalues). Which route is
#   faster depends on d and on the linear-algebra library: the cell below times all three
#   on your machine.
#
# What does *not* work is `np.linalg.eigvalsh(Σ1 @ Σ2)`: `eigvalsh` assumes a symmetric
# matrix and reads only one triangle of it.

# %%
def fid_sqrtm(mu1, sigma1, mu2, sigma2) -> float:
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)  # general matrix square root, complex in general
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean).real)


def fid_symmetric(mu1, sigma1, mu2, sigma2) -> float:
    w, v = np.linalg.eigh(sigma1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # Σ1^½, symmetric
    eig = np.linalg.eigvalsh(root1 @ sigma2 @ root1)  # eigenvalues of Σ1^½ Σ2 Σ1^½ = those of Σ1 Σ2
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(eig, 0, None)).sum())


def gaussian_fit(feats: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    a = feats.double().numpy()
    return a.mean(axis=0), np.cov(a, rowvar=False)  # [d], [d, d] (unbiased covariance, float64)


mu_t, sigma_t = gaussian_fit(f_test)
mu_r, sigma_r = gaussian_fit(f_train)
product = sigma_t @ sigma_r
print(f"Σ1Σ2 symmetric? max |P − Pᵀ| = {np.abs(product - product.T).max():.3g} (max |P| = {np.abs(product).max():.3g})")
wrong = np.sqrt(np.clip(np.linalg.eigvalsh(product), 0, None)).sum()
right = np.sqrt(np.clip(np.linalg.eigvals(product).real, 0, None)).sum()
print(f"tr (Σ1Σ2)^½: eigvalsh(Σ1Σ2) gives {wrong:.3f}, the true eigenvalues give {right:.3f}")

# %% [markdown]
# Now the side-by-side check on the **same features** (held-out digits against training
# digits): our two versions, `coursekit.metrics`, pytorch-fid's `calculate_frechet_distance`,
# torch-fidelity's `fid_statistics_to_metric`, and torchmetrics' `FrechetInceptionDistance`
# given our features through an identity "feature extractor" (it accumulates its own
# statistics in float64). They should agree to 10⁻⁶ relative or better.

# %%
from pytorch_fid.fid_score import calculate_frechet_distance
from torch_fidelity.metric_fid import fid_statistics_to_metric
from torchmetrics.image.fid import FrechetInceptionDistance


class Identity(torch.nn.Module):
    """Hands precomputed features to torchmetrics unchanged."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


tm = FrechetInceptionDistance(feature=Identity(f_train.shape[1]))
tm.update(f_test.double(), real=False)
tm.update(f_train.double(), real=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # scipy's note about sqrtm(disp=...) inside pytorch-fid
    results = {
        "from scratch, sqrtm": fid_sqrtm(mu_t, sigma_t, mu_r, sigma_r),
        "from scratch, symmetric": fid_symmetric(mu_t, sigma_t, mu_r, sigma_r),
        "coursekit.metrics.fid_from_features": metrics.fid_from_features(f_test, f_train),
        "pytorch-fid calculate_frechet_distance": float(calculate_frechet_distance(mu_t, sigma_t, mu_r, sigma_r)),
        "torch-fidelity fid_statistics_to_metric": fid_statistics_to_metric(
            {"mu": mu_t, "sigma": sigma_t}, {"mu": mu_r, "sigma": sigma_r}, False)["frechet_inception_distance"],
        "torchmetrics FrechetInceptionDistance": float(tm.compute()),
    }
reference = results["pytorch-fid calculate_frechet_distance"]
print(f"FID, {len(f_test)} held-out vs {len(f_train)} training digits, {f_train.shape[1]}-d features\n")
print(f"{'implementation':42s}{'FID':>22s}{'rel. diff. vs pytorch-fid':>28s}")
for name, value in results.items():
    print(f"{name:42s}{value:22.12f}{abs(value - reference) / reference:28.2e}")
worst = max(abs(v - reference) / reference for v in results.values())
print(f"\nlargest relative difference: {worst:.2e} -> {'within' if worst <= 1e-6 else 'NOT within'} 1e-6")

# %% [markdown]
# The cost of every route grows as d³; at Inception's d = 2048 it matters (a general `sqrtm`
# does a complex Schur decomposition; the symmetric routes need one or two symmetric
# eigendecompositions, or a Cholesky factor and one). Timed here on random covariances; the
# times depend on your machine and on what else runs on it:

# %%
d_time = quick_or_full(256, 512)
rng = np.random.default_rng(0)
a, b = rng.normal(size=(2 * d_time, d_time)), rng.normal(size=(2 * d_time, d_time)) * 1.1
mu_a, s_a, mu_b, s_b = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
timings = {}
for name, fn in [("sqrtm", fid_sqrtm), ("symmetric (eigh)", fid_symmetric), ("coursekit (Cholesky)", metrics.frechet_distance)]:
    runs = []
    for _ in range(quick_or_full(1, 2)):  # best of a few: other work on the machine only adds time
        t0 = time.perf_counter()
        value = fn(mu_a, s_a, mu_b, s_b)
        runs.append(time.perf_counter() - t0)
    timings[name] = min(runs)
    print(f"d = {d_time}: {name:22s} {timings[name]:6.2f} s (best of {len(runs)}), FID = {value:.8f}")

# %% [markdown]
# ## 4. FID needs many samples
#
# ### Rank deficiency
#
# A covariance estimated from N samples is a sum of N outer products around their mean: its
# **rank is at most N − 1**. With Inception's 2048-d features, 512 samples give a 2048×2048
# covariance with at least 2048 − 511 zero eigenvalues (printed below): the fitted Gaussian
# is flat in most directions, and FID compares a degenerate Gaussian. The rank is a fact of
# linear algebra, so random vectors show it as well as Inception features would; then the
# same on our 128-d classifier features with fewer samples than dimensions. (The nonzero eigenvalues of
# $X_c^\top X_c$ are those of $X_c X_c^\top$, so we never form the 2048×2048 matrix.)

# %%
x512 = rng.normal(size=(512, 2048))
xc = x512 - x512.mean(axis=0)  # centred data, [512, 2048]
gram = np.linalg.eigvalsh(xc @ xc.T / 511)[::-1]  # the nonzero eigenvalues of the covariance (at most 512)
rank_2048 = int((gram > gram[0] * 1e-10).sum())
print(f"N = 512 samples of d = 2048 features: covariance rank {rank_2048} of 2048 "
      f"({2048 - rank_2048} zero eigenvalues); the true covariance (identity) has 2048 eigenvalues equal to 1, "
      f"the estimate's nonzero ones range from {gram[rank_2048 - 1]:.2f} to {gram[0]:.2f}")

fig, ax = plt.subplots(figsize=(7, 3.2))
for n in (32, 64, 128, 256, len(f_train)):
    sub = f_train[torch.randperm(len(f_train), generator=torch.Generator().manual_seed(0))[:n]]
    eig = np.linalg.eigvalsh(np.cov(sub.double().numpy(), rowvar=False))[::-1]
    rank = np.linalg.matrix_rank(np.cov(sub.double().numpy(), rowvar=False))
    print(f"classifier features, N = {n:4d}: rank of the {f_train.shape[1]}×{f_train.shape[1]} covariance = {rank}")
    ax.semilogy(np.arange(1, len(eig) + 1), np.clip(eig, 1e-12, None), label=f"N = {n} (rank {rank})")
ax.set_xlabel("eigenvalue index")
ax.set_ylabel("eigenvalue of $\\hat\\Sigma$")
ax.set_title("Covariance spectrum of 128-d classifier features")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ### The bias of FID in N
#
# Even at full rank, FID estimated from N samples is **biased upwards**, and the bias shrinks
# like 1/N (Chong & Forsyth 2020, *Effectively Unbiased FID and Inception Score and where to
# find them*): $\mathrm{FID}_N \approx \mathrm{FID}_\infty + k/N$, with a $k$ that depends on
# the model. Two models compared at different N, or at small N, can be ranked wrongly.
#
# We measure it: FID of N **real** held-out digits against the training set (the same
# distribution, so a value near 0, apart from the classifier having been trained on the
# training digits), and FID of N samples of a **DCGAN** against the training set, for several N,
# each over a few random subsets. The DCGAN is lesson 4's if its checkpoint is in `runs/`,
# else a quick stand-in trained here.

# %%
contenders = lb.contenders()
dcgan_entry = lb.prepare(next(c for c in contenders if c.lesson == "04"), x_train, device=device)
dcgan = dcgan_entry.generator
n_pool = quick_or_full(2000, 5000)
f_gan, p_gan = mnist_features(lb.sample_images(dcgan, n_pool, seed=0), classifier=classifier)

ns_real = [n for n in quick_or_full([200, 500, 1000], [150, 200, 300, 500, 700, 1000, 2000, 5000]) if n <= len(f_test)]
ns_gan = [n for n in quick_or_full([200, 500, 1000, 2000], [150, 200, 300, 500, 700, 1000, 2000, 3000, 5000]) if n <= n_pool]
fit_real = lb.fid_infinity(f_test, f_train, ns_real, repeats=REPEATS, seed=0)
fit_gan = lb.fid_infinity(f_gan, f_train, ns_gan, repeats=REPEATS, seed=0)
for label, fit in [("real held-out vs train", fit_real), (f"DCGAN ({dcgan_entry.source}) vs train", fit_gan)]:
    print(label)
    for n, row in zip(fit["ns"], fit["fids"]):
        print(f"   N = {n:5d}: FID = {row.mean():9.2f} ± {row.std():6.2f}")
    print(f"   fit FID_N = FID∞ + k/N: FID∞ = {fit['fid_inf']:.2f}, k = {fit['slope']:.0f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
for ax, (label, fit) in zip(axes, [("real held-out vs train", fit_real), ("DCGAN samples vs train", fit_gan)]):
    inv = 1 / np.asarray(fit["ns"], dtype=float)
    ax.errorbar(inv, fit["fids"].mean(1), yerr=fit["fids"].std(1), fmt="o", label="FID_N (mean ± std)")
    line = np.linspace(0, inv.max(), 50)
    ax.plot(line, fit["fid_inf"] + fit["slope"] * line, "--", label=f"fit: FID∞ = {fit['fid_inf']:.1f}")
    for n, i in zip(fit["ns"], inv):
        ax.annotate(str(n), (i, fit["fids"].mean(1)[list(fit["ns"]).index(n)]), fontsize=7,
                    textcoords="offset points", xytext=(3, 3))
    ax.set_xlabel("1 / N")
    ax.set_ylabel("FID")
    ax.set_title(label)
    ax.set_xlim(left=0)
    ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Read the numbers above: FID at the smallest N is many times FID∞ for real
# digits, whose true FID is close to 0, and the points lie close to a line in 1/N, as Chong &
# Forsyth found for Inception features. A value of FID means nothing without its N; the
# convention for Inception FID is 50,000 samples (and at least 10,000), far more than
# the feature dimension. Chong & Forsyth fit N from 5,000 to 50,000 with Inception features;
# with 128-d features much smaller N already give full-rank covariances. The reference
# statistics (here 4,000 training digits, or all of them online) carry their own finite-sample
# bias, which no amount of generated samples removes, and the classifier was trained on those
# same training digits, so digits it has seen and digits it has not differ slightly in its
# features. Both keep FID∞ of real held-out digits small but above 0.
#
# ## 5. KID: an unbiased alternative
#
# The Kernel Inception Distance (Bińkowski et al. 2018) is the squared **maximum mean
# discrepancy** between the two feature sets under the cubic kernel
# $k(a, b) = (a^\top b / d + 1)^3$, with the *unbiased* estimator
#
# $$\mathrm{MMD}^2_u = \frac{\sum_{i\ne j} k(x_i,x_j)}{m(m-1)} + \frac{\sum_{i\ne j} k(y_i,y_j)}{n(n-1)}
#    - \frac{2}{mn}\sum_{i,j} k(x_i,y_j).$$
#
# Its expectation does not depend on N, so it can be negative when the sets match. It is
# usually averaged over random subsets (`coursekit.metrics.kid`, 100 subsets of 1,000 by
# default). From scratch, checked against torchmetrics' `poly_mmd` and coursekit on one subset:

# %%
from torchmetrics.image.kid import poly_mmd


def kid_scratch(x: torch.Tensor, y: torch.Tensor) -> float:
    d, m, n = x.shape[1], len(x), len(y)
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
                 + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1)) - 2 * kxy.mean())


xa, xb = f_gan[:500].double(), f_train[:500].double()
print(f"KID of 500 DCGAN vs 500 training features: scratch {kid_scratch(xa, xb):.10f}, "
      f"torchmetrics {float(poly_mmd(xa, xb)):.10f}, coursekit {metrics.kid(xa, xb, subsets=1, subset_size=500)[0]:.10f}")

# %%
kid_rows = {"real held-out vs train": [], "DCGAN vs train": []}
for n in ns_real:  # KID on random subsets of n samples from each side, KID_SUBSETS times
    for label, feats in [("real held-out vs train", f_test), ("DCGAN vs train", f_gan)]:
        m, s = metrics.kid(feats, f_train, subsets=KID_SUBSETS, subset_size=n, seed=0)
        kid_rows[label].append((n, m, s))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), layout="constrained")
for ax, label in zip(axes, kid_rows):
    ns_, means, stds = map(np.asarray, zip(*kid_rows[label]))
    ax.errorbar(ns_, means, yerr=stds, fmt="o-", label="KID (mean ± std over subsets)")
    fit = fit_real if label.startswith("real") else fit_gan
    ax2 = ax.twinx()
    same_n = [i for i, n in enumerate(fit["ns"]) if n in ns_]  # FID at the same N as KID
    ax2.plot(np.asarray(fit["ns"])[same_n], fit["fids"].mean(1)[same_n], "s--", color="tab:red", alpha=0.6,
             label="FID")
    ax2.set_ylabel("FID", color="tab:red")
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks(ns_, [str(n) for n in ns_], minor=False)
    ax.set_xticks([], minor=True)
    ax.set_xlabel("N (samples per set)")
    ax.set_ylabel("KID")
    ax.set_title(label)
    ax.legend(fontsize=8, loc="upper right")
plt.show()
for label, rows in kid_rows.items():
    print(label + ": " + ", ".join(f"N={n}: {m:.3g} ± {s:.2g}" for n, m, s in rows))

# %% [markdown]
# Compare the two curves in each panel: KID's mean should stay level as N grows, up to its
# spread (for real digits it scatters around 0 and can be negative), while FID (dashed)
# falls with N; what shrinks with N is KID's spread. That is what "unbiased" buys: KIDs at
# different N can be compared, and a KID within its std of 0 says "indistinguishable at
# this N". The price is variance: always report the std.
#
# KID's *scale* depends on the features. The cubic kernel sees $a^\top b/d$, and our
# classifier's 128-d features are taken before the ReLU and are not scaled like Inception's,
# so the KIDs printed here are large numbers, while Inception KIDs are small enough to be
# usually quoted ×10³. Only compare KIDs computed with the same features.
#
# ## 6. Precision and recall: quality and diversity apart
#
# FID mixes two failures into one number: samples that look wrong (**quality**) and parts of
# the data the model never produces (**diversity**). Kynkäänniemi et al. (2019) separate them
# with k-nearest-neighbour balls in feature space: put a ball around each real sample reaching
# its k-th nearest real neighbour (k = 3); the union approximates the real manifold.
# **Precision** is the fraction of generated samples inside it. Symmetrically, **recall** is
# the fraction of real samples inside the union of the generated samples' balls.

# %%
def pr_row(name: str, feats: torch.Tensor) -> tuple[str, float, float]:
    p, r = metrics.precision_recall(f_train[: len(feats)], feats, k=3)
    return name, p, r


gan_digit = p_gan.argmax(1)
most = int(gan_digit.mode().values)
restricted = f_gan[gan_digit == most][:N_EVAL]
rows = [pr_row("real held-out digits", f_test[:N_EVAL]), pr_row("real 1s only (collapsed to one class)", f_one),
        pr_row("10 sharp digits, repeated", f_ten), pr_row("DCGAN, all samples", f_gan[:N_EVAL]),
        pr_row(f"DCGAN, only samples classified as {most}", restricted)]
print(f"{'set':48s}{'N':>6s}{'precision':>11s}{'recall':>9s}   (k = 3, against as many training digits)")
for (name, p, r), n in zip(rows, [N_EVAL, len(f_one), len(f_ten), N_EVAL, len(restricted)]):
    print(f"{name:48s}{n:6d}{p:11.3f}{r:9.3f}")

# %% [markdown]
# The collapsed sets keep a high precision (every sample looks like a real digit) and lose
# recall (most real digits have no generated neighbour); the ten repeated images have balls
# of radius 0 (each image's 3 nearest neighbours are its own copies), so their recall is
# about 0. IS rated that set above the real digits. Keeping only the DCGAN's samples of
# one class (the last row) does the same to a real generator: it loses most of its recall.
#
# ### The truncation trick: a dial between quality and diversity
#
# Sampling $z$ closer to the mode of its prior, $z' = \psi z$ with $\psi < 1$, gives less varied
# samples: recall must fall as $\psi$ shrinks, and $\psi > 1$ spreads the samples out. This
# scaling of $z$ is the simplest dial of the kind; it is not what the named "truncation tricks"
# do: BigGAN (Brock et al. 2019) redraws the entries of $z$ whose magnitude exceeds a
# threshold, and StyleGAN (lesson 7) moves the intermediate latent $w$ towards its average
# $\bar w$, not $z$.
# Whether *precision* rises depends on the generator: it does when the centre of its latent
# space maps to clean, typical digits, and not when the centre is a poor region of it.
# Measured:

# %%
trunc_rows = []
for psi in TRUNCATIONS:
    f_psi, p_psi = mnist_features(lb.sample_images(dcgan, N_EVAL, seed=1, psi=psi), classifier=classifier)
    p, r = metrics.precision_recall(f_train[:N_EVAL], f_psi, k=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fid = metrics.fid_from_features(f_psi, f_train)
    trunc_rows.append((psi, p, r, fid, metrics.inception_score(p_psi, 10)[0]))
print(f"{'psi':>5s}{'precision':>11s}{'recall':>9s}{'FID':>10s}{'IS':>8s}   ({N_EVAL} samples each)")
for psi, p, r, fid, is_ in trunc_rows:
    print(f"{psi:5.2f}{p:11.3f}{r:9.3f}{fid:10.1f}{is_:8.2f}")
best_p, best_r = max(trunc_rows, key=lambda t: t[1]), max(trunc_rows, key=lambda t: t[2])
recall_falls = all(a[2] <= b[2] + 0.01 for a, b in zip(trunc_rows, trunc_rows[1:]))
print(f"highest precision at ψ = {best_p[0]} ({best_p[1]:.3f}); highest recall at ψ = {best_r[0]} ({best_r[2]:.3f}); "
      f"recall {'falls' if recall_falls else 'does not fall'} monotonically as ψ shrinks (to within 0.01)")

fig = plt.figure(figsize=(11, 3.4))
ax = fig.add_subplot(1, 3, 1)
psis, ps, rs = zip(*[(t[0], t[1], t[2]) for t in trunc_rows])
ax.plot(psis, ps, "o-", label="precision")
ax.plot(psis, rs, "s-", label="recall")
ax.set_xlabel("ψ (z scaled by ψ)")
ax.set_ylim(-0.02, 1.02)
ax.legend()
ax.set_title("DCGAN truncation sweep")
for i, psi in enumerate([TRUNCATIONS[0], 1.0] if len(TRUNCATIONS) > 1 else [1.0]):
    draw_image_grid(fig.add_subplot(1, 3, 2 + i), lb.sample_images(dcgan, 36, seed=2, psi=psi), nrow=6,
                    title=f"ψ = {psi}")
plt.show()

# %% [markdown]
# ## 7. The standard path: Inception-v3
#
# Published FIDs use pytorch-fid's port of the TensorFlow FID Inception-v3: images are resized
# to 299×299 (grey digits repeated to three channels), and the 2048-d output of the last
# pooling layer is the feature vector; IS uses the same network's 1008-way softmax. The
# convention is 50,000 generated samples against the training set's statistics. This network
# is slow on a CPU, and its weights must be downloaded once;
# `coursekit.features.inception_features` does it all, or raises an error that says which file
# to put where. Offline, the cell below prints that advice and skips the measurement. When the
# weights are there, it measures the same held-out and DCGAN sets with Inception features, at
# a small N, which section 4 says is rank-deficient (N < 2048): compare such numbers only with
# each other.

# %%
N_INCEPTION = quick_or_full(64, 500)
try:
    inception = load_inception(device)
except RuntimeError as err:
    inception = None
    print("Skipping the Inception-v3 FID: its weights are not available here. What to do:\n")
    advice = "\n".join(line for line in str(err).splitlines() if not line.startswith("(cause:"))
    print(advice.replace(str(Path.home()), "~"))  # the torch hub cache, under your home folder
    print("\nThe rest of the lesson uses the MNIST classifier's features; nothing else depends on this cell.")
if inception is not None:
    inc_train = inception_features(x_train[:N_INCEPTION], model=inception)
    inc_test = inception_features(x_test[:N_INCEPTION], model=inception)
    inc_gan = inception_features(lb.sample_images(dcgan, N_INCEPTION, seed=0), model=inception)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        print(f"Inception FID, N = {N_INCEPTION} (2048-d, rank-deficient): real held-out vs train "
              f"{metrics.fid_from_features(inc_test, inc_train):.2f}; DCGAN vs train "
              f"{metrics.fid_from_features(inc_gan, inc_train):.2f}")

# %% [markdown]
# ## 8. The leaderboard
#
# The generators of lessons 2, 4, 5 and 6, measured the same way: the same N generated
# samples per model (seed 0), the same real reference (the training split), the same
# classifier. A model is loaded from the checkpoint its lesson saved in `runs/` when there is
# one; otherwise a quick stand-in is trained here (fewer steps and channels than the lesson;
# the table says which, with its steps). Two baselines calibrate the scale: real held-out
# digits (the best a model could hope for at this N) and the ten repeated digits of section 2.
# FID∞ is extrapolated as in section 4, from the mean of several random subsets at each of
# several N (listed under the table); for the real baselines only up to the size of the
# held-out set, so their FID∞ is the fit of section 4. The FID column is one draw of N
# samples; FID∞ is a fit to many draws, so the two differ by the sampling spread that section 4
# printed (the ± at each N) as well as by the bias.
#
# **The ranking, declared before the table:** rows are ranked by FID at N = `N_BOARD`
# (lower is better). Section 4 printed how much one draw of N samples spreads (the ± at
# each N), so only gaps much larger than that spread rank two models. Each model is one
# training run, so the board ranks these checkpoints, not recipes across seeds.

# %%
entrants = [dcgan_entry if c.lesson == "04" else lb.prepare(c, x_train, device=device) for c in contenders]
N_BOARD = quick_or_full(500, N_EVAL)
board_cfg = lb.EvalConfig(n=N_BOARD, kid_subsets=KID_SUBSETS, kid_subset_size=N_BOARD // 2,
                          fid_inf_ns=tuple(sorted(set(ns_real) | set(quick_or_full((), (2000, 4000))))),
                          fid_inf_repeats=REPEATS)
board = lb.leaderboard(entrants, f_train, board_cfg, classifier=classifier,
                       baselines=[("real held-out digits", x_test), ("10 sharp digits, repeated", ten_repeated)])
display(Markdown(lb.format_table(board)))

# %%
fig = plt.figure(figsize=(13, 3.1))
for i, e in enumerate(entrants):
    ax = fig.add_subplot(1, len(entrants), i + 1)
    draw_image_grid(ax, lb.sample_images(e.generator, 25, seed=3), nrow=5)
    ax.set_title(f"{e.name}\n(L{e.lesson}, {e.source})".replace(" + ", "\n+ "), fontsize=9)
plt.show()

models = [r for r in board if r["source"] != "real data"]
cheat = next(r for r in board if r["model"].startswith("10 sharp"))
real = next(r for r in board if r["model"] == "real held-out digits")
print(f"highest IS on the board: {max(board, key=lambda r: r['is'])['model']} "
      f"({max(r['is'] for r in board):.2f}; real held-out digits: {real['is']:.2f})")
print(f"the 10 repeated digits: recall {cheat['recall']:.3f} (real digits: {real['recall']:.3f}); FID {cheat['fid']:.1f}, "
      f"better than {sum(r['fid'] > cheat['fid'] for r in models)} of the {len(models)} models on the board")
best = models[0]
print(f"best model by FID: {best['model']} (lesson {best['lesson']}, {best['source']}): FID {best['fid']:.1f}, "
      f"precision {best['precision']:.3f}, recall {best['recall']:.3f}")
board_real_ns = [n for n in board_cfg.fid_inf_ns if n <= min(N_BOARD, len(x_test))]
print(f"real held-out digits: FID∞ {real['fid_inf']:.2f} on the board, {fit_real['fid_inf']:.2f} in section 4 ("
      + ("the same fit: same features, sample sizes and subsets)" if board_real_ns == list(ns_real) else
         f"fits over N = {board_real_ns} and {list(ns_real)}: a different fit, a different estimate)"))
above = [r["model"] for r in board if r["fid_inf"] > r["fid"]]
print(f"rows whose FID∞ is above their single-draw FID (N = {N_BOARD}): {', '.join(above) if above else 'none'}")

# %% [markdown]
# How to read the board: FID and KID (lower is better) compare with the real data; precision
# says how many samples look real, recall how much of the real data is covered; IS only says
# the classifier is confident and the classes are balanced. Check the lines printed above
# against the table: the "10 sharp digits" row has the highest IS and a recall near 0, and
# against weak generators even its FID can look good, because FID's single number cannot say
# *which* way a set is wrong; precision and recall can. If a row has an IS near 1 and a
# precision and recall near 0, its generator has failed: the classifier puts all its samples
# in one class, and none of them is near a real digit (look at its samples in the figure
# above). Read the source column too: a model trained for fewer steps is not necessarily a
# worse recipe, and a stand-in ("trained here") is far from converged, so it ranks by how fast
# its recipe learns, not by how good it can get; run lessons 2, 4, 5 and 6 in full mode first
# to rank their real models.
#
# ## Summary
#
# - **IS** = exp E KL(p(y|x) ‖ p(y)): confident and class-balanced. It never compares with real
#   data, so ten sharp images repeated score near the maximum; it depends on the classifier, on
#   N and on the splits.
# - **FID** = squared Fréchet distance of two Gaussian fits. Compute tr(Σ1Σ2)^½ with `sqrtm` or
#   with the eigenvalues of the symmetric Σ1^½Σ2Σ1^½, never `eigvalsh(Σ1Σ2)`; ours matches
#   pytorch-fid, torch-fidelity and torchmetrics (relative difference printed above).
# - FID is **biased in N** (∝ 1/N) and rank-deficient when N ≤ d: always give N, compare at
#   equal N, or extrapolate to FID∞.
# - **KID** is unbiased in N; **precision/recall** separate quality from coverage (truncation
#   trades recall for precision only over the range of ψ where precision rises, printed in
#   section 6).
#
# The exercises (`exercises/08_is_fid.ipynb`) ask you to write the IS, the Fréchet distance in
# 1-D and in d dimensions, KID, and precision/recall.

# %%
print(f"Closing note: mode = {'quick' if is_quick() else 'full'}; device = {device}.")
print(f"FID check: largest relative difference to pytorch-fid {worst:.1e}.")
for e in entrants:
    how = f"loaded from {e.path.parent.name}/{e.path.name}" if e.source == "loaded" else f"trained here ({e.steps} steps)"
    print(f"  {e.name} (lesson {e.lesson}): {how}" + (f"; {e.note}" if e.note else ""))
print(lb.format_table(board))
