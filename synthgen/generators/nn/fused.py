"""The CTGAN residual generator's forward pass for sampling, with no concatenation.

A residual block feeds ``[h_k, ..., h_0, z, cond]`` to the next layer, so every layer's
weight splits by input piece. At sampling time (eval mode) each batch norm folds into its
linear layer, and the pre-activations of all layers live side by side in one
``[rows, sum of widths]`` buffer that is filled piece by piece:

* the one-hot ``cond`` picks one row of a table (its weights plus every bias),
* ``z`` is one matmul into every layer at once,
* each hidden output ``h_k`` is one matmul into every layer after it.

Same function as the module (up to float rounding), fewer FLOPs (no one-hot matmul), and no
``torch.cat`` copies of ever wider inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class FusedGenerator:
    offsets: list[int]  # layer L's pre-activations are columns offsets[L]:offsets[L + 1]
    w_z: Tensor  # [z width, all columns]
    w_cond: Tensor  # [cond width, all columns], biases included; [1, all] without cond
    w_h: list[Tensor]  # h_k -> the layers after k: [d_k, columns from offsets[k + 1]]

    @classmethod
    def fold(cls, gen: nn.Sequential, z_width: int) -> FusedGenerator:
        """From ``_make_generator``'s Sequential of residual blocks and a final Linear."""
        with torch.no_grad():
            ws, bs = [], []
            *blocks, last = list(gen)
            for block in blocks:
                fc, bn = block.fc, block.bn
                assert isinstance(fc, nn.Linear) and isinstance(bn, nn.BatchNorm1d)
                assert bn.running_var is not None and bn.running_mean is not None
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                ws.append(fc.weight * scale[:, None])
                bs.append((fc.bias - bn.running_mean) * scale + bn.bias)
            assert isinstance(last, nn.Linear)
            ws.append(last.weight)
            bs.append(last.bias)
            dims = [len(w) for w in ws]
            offsets = [0]
            for d in dims:
                offsets.append(offsets[-1] + d)
            base = torch.cat([w[:, offsets[i] :] for i, w in enumerate(ws)])  # z and cond
            bias = torch.cat(bs)
            w_cond = base[:, z_width:].T + bias if base.shape[1] > z_width else bias[None, :]
            w_h = [
                torch.cat(
                    [ws[j][:, offsets[j] - offsets[k + 1] : offsets[j] - offsets[k]]
                     for j in range(k + 1, len(ws))]
                ).T.contiguous()
                for k in range(len(dims) - 1)
            ]  # fmt: skip
            return cls(offsets, base[:, :z_width].T.contiguous(), w_cond.contiguous(), w_h)

    def __call__(self, z: Tensor, cond: Tensor | None) -> Tensor:
        """Raw outputs for noise ``z`` and conditional slots ``cond`` ([rows] int64, or None
        when there are no label columns)."""
        if cond is None:
            pre = self.w_cond.expand(len(z), -1).clone()
        else:
            pre = self.w_cond.index_select(0, cond)
        pre.addmm_(z, self.w_z)
        at = self.offsets
        for k, w in enumerate(self.w_h):
            h = pre[:, at[k] : at[k + 1]].relu_()
            pre[:, at[k + 1] :].addmm_(h, w)
        return pre[:, at[-2] :]
