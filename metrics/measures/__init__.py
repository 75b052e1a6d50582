"""The image-distribution metrics and the machine observer, as pure computation (no Django, no Celery): the
metrics' names (`vocabulary`), histograms, KL, spectra, Fréchet distance and KID (`distribution`), the FID
Inception network (`inception`, PyTorch), radiomic features (`radiomics`), every metric per axial layer against its
real-vs-real baseline (`layerwise`), and the classifiers that tell synthetic slices from real ones (`observer`).

This package imports none of its modules, so that importing one (`metrics.models` reads `vocabulary`) does not
load PyTorch, scikit-image or scikit-learn."""
