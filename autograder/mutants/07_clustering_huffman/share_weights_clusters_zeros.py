"""share_weights_ clusters the pruned zeros with the kept weights, so zeros become a shared non-zero value.

Caught by: share_weights_keeps_zeros_and_shares
"""

# ruff: noqa: F821

import numpy as np
import torch
from torch import nn


def share_weights_(model: nn.Module, bits: int, loader=None, epochs: int = 0, lr: float = 1e-3) -> dict:
    """Cluster each layer's non-zero weights into 2^bits shared values in place; fine-tune centroids on loader."""
    bits = check_int("bits", bits, 1, 8)
    epochs = check_int("epochs", epochs, 0, 10**4)
    layers = weight_layers(model)
    shared, books = {}, []
    for name, m in layers:
        w = m.weight.detach().cpu().numpy()
        mask = np.ones_like(w, dtype=bool)  # the mistake: zeros are clustered too
        codebook, idx = cluster_weights(w[mask], bits)
        shared[name] = (codebook, idx, mask)
        books.append(torch.tensor(codebook, requires_grad=True))
    torch.manual_seed(0)
    opt = torch.optim.Adam(books, lr=lr) if loader is not None and epochs > 0 else None
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs + 1):
        for book, (name, m) in zip(books, layers):
            _, idx, mask = shared[name]
            with torch.no_grad():
                m.weight.zero_()
                m.weight[torch.from_numpy(mask)] = book[torch.from_numpy(idx.astype(np.int64))]
        if opt is None or epoch == epochs:
            break
        model.train()
        for x, y in loader:
            model.zero_grad()
            loss_fn(model(x), y).backward()
            for book, (name, m) in zip(books, layers):
                _, idx, mask = shared[name]
                grad = m.weight.grad[torch.from_numpy(mask)].detach().numpy()
                book.grad = torch.from_numpy(centroid_grad(grad, idx, len(book))).float()
            opt.step()
            for book, (name, m) in zip(books, layers):
                _, idx, mask = shared[name]
                with torch.no_grad():
                    m.weight[torch.from_numpy(mask)] = book[torch.from_numpy(idx.astype(np.int64))]
    model.eval()
    return {name: (book.detach().numpy().copy(), shared[name][1], shared[name][2])
            for book, (name, _) in zip(books, layers)}
