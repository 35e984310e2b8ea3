"""The machinery behind the four scripts at the top of the repo, one module per idea:

    paths        where data, outputs and results live (anchored to the repo, not the working directory)
    config       TrainConfig: every training setting in one dataclass, and its command line
    models       the two architectures and the registry: name -> model class and its default recipe
    data         MNIST's IDX files: reading, checksums, download, train/validation split
    augment      per-image random affine and erasing on batch tensors
    training     the one training loop: epochs, validation, schedules, early stopping, clipping
    checkpoint   the training state behind --resume, and the rules a resume must follow
    runtime      device choice, seeding, torch.distributed, what machine a run is on
    storage      files written whole or not at all
    weights      model.safetensors: trained weights and what rebuilds them
    experiment   one run end to end: data, model, training, test metrics, outputs
    preprocess   a user's photo, scan or drawing turned into an MNIST-like 28x28
    inference    the trained model run on such images with NumPy alone
"""
