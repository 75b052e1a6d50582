"""The pool of generated images the discriminators also see (Shrivastava et al. 2017)."""

import numpy as np
import torch


class ImagePool:
    """The last `size` generated images; half of each query is answered from the pool (Shrivastava et al.)."""

    def __init__(self, size: int):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        if self.size == 0:
            return images
        answered = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                answered.append(image)
            elif rng.random() < 0.5:
                slot = int(rng.integers(0, self.size))
                answered.append(self.images[slot].clone())
                self.images[slot] = image.clone()
            else:
                answered.append(image)
        return torch.cat(answered, dim=0)
