"""The lessons' helpers: data, models, training, budgets, pruning, distillation, quantization.

Every module here that uses torch imports :mod:`edgecourse.lab.backend` first (torch and
torchvision before tensorflow, one thread). :mod:`edgecourse.lab.arithmetic` is plain numpy, so
the deployment chain can use TFLite's integer arithmetic without torch.
"""
