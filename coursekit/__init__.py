"""coursekit: the companion package of the GAN Workbook.

Modules (import the one you need):
    runtime   device choice, seeds, quick mode, run header
    data      Gaussian mixtures, MNIST (online or offline), procedural shapes
    losses    GAN losses and penalties, as small pure functions on logits
    models    generators, discriminators and critics
    train     one small trainer for every lesson
    race      lesson 4's race: a classifier probe, a quality bar, an average of G's weights, seeds side by side
    stylegan  the small StyleGAN of lesson 7; stylegan_train: its training step;
              stylegan_report: what lesson 7 measures about it (shapes, shape_attributes: its data and measure)
    metrics   IS, FID, KID, precision/recall, mode coverage (stats: streaming mean/covariance)
    features  the shipped MNIST classifier and the Inception-v3 path, as feature extractors
    theory    1-D densities, JSD, Wasserstein-1, D* and C(G) by quadrature (lesson 1)
    plots     figures as pure functions on matplotlib Figures
    widgets   ipywidgets for the lessons (sliders, dashboard, explorers)
    check     instant feedback for exercises; grade: the autograder
"""

__version__ = "0.1.0"
