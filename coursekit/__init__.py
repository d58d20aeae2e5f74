"""coursekit: the companion package of the GAN Workbook.

Modules (import the one you need), one line each:
    runtime           device choice, seeds, quick mode, progress bars, run header
    data              2-D Gaussian mixtures, MNIST (online or offline), procedural shapes
    shapes            a procedural image set whose every attribute is known (lesson 7's data)
    losses            GAN losses and penalties, as small pure functions on logits
    models            generators, discriminators and critics
    packing           minibatch std and packing: a discriminator that sees several samples
    conv_arithmetic   output sizes of (transposed) convolutions, and a shape trace of a model
    train             the GAN step as a function, and one small trainer for every lesson
    checkpoint        a run's History, and checkpoints written atomically
    ensemble          K independent 2-D GANs trained as one vectorised model
    mode_collapse     lesson 3's mode-collapse experiments, on top of ensemble
    lipschitz         measuring Lipschitz constraints and what they cost (lesson 5)
    race              lesson 4's race: a classifier probe, a quality bar, an average of G's weights, seeds
    latent            seeded latents, interpolations and sweeps for looking at a generator
    stylegan          the small StyleGAN of lesson 7
    stylegan_train    its training step, shared by the lesson and the training script
    stylegan_report   what lesson 7 measures about a trained StyleGAN
    shape_attributes  the attributes of a shapes image read off its pixels, to count style mixing
    metrics           IS, FID, KID, precision/recall, mode coverage, in float64
    stats             streaming mean and covariance, and the metrics' input checks
    features          the shipped MNIST classifier and the Inception-v3 path, as feature extractors
    leaderboard       the course's MNIST generators measured the same way (lesson 8)
    theory            1-D densities, JSD, Wasserstein-1, D* and C(G) by quadrature (lesson 1)
    plots             figures as pure functions on matplotlib Figures
    widgets           ipywidgets for the lessons (sliders, dashboard, explorers)
    widget_fallbacks  static stand-ins for the widgets of a saved notebook
    check             instant feedback for exercises: randomised cases, hints that escalate
    exercises         the registry of graded exercises, one module per lesson
    grading           the autograder (``python -m coursekit.grading``); grade: its older name
    nbgrader_tests    the check that nbgrader's hidden tests call
    release           exercises/ generated from solutions/, .ipynb files from their .py pairs
    weights           the shipped weights (a folder, not a module)
"""

__version__ = "0.1.0"
