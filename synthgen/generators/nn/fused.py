"""The CTGAN residual generator's forward pass for sampling, with no concatenation.

A residual block feeds ``[h_k, ..., h_0, z, cond]`` to the next layer, so every layer's
weight splits by input piece. At sampling time (eval mode) each batch norm folds into its
linear layer, and the pre-activations of all layers live stacked in one transposed
``[sum of widths, rows]`` buffer that is filled piece by piece:

* the one-hot ``cond`` picks one column of a table (its weights plus every bias),
* ``z`` is one matmul into every layer at once,
* each hidden output ``h_k`` is one matmul into every layer after it.

Same function as the module (up to float rounding), fewer FLOPs (no one-hot matmul), no
``torch.cat`` copies of ever wider inputs, every slice a contiguous block of rows, and the
output comes transposed ([width, rows]) as the span sampler wants it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class FusedGenerator:
    offsets: list[int]  # layer L's pre-activations are rows offsets[L]:offsets[L + 1]
    w_z: Tensor  # [all rows, z width]
    w_cond: Tensor  # [all rows, cond width], biases included; [all, 1] without cond
    w_h: list[Tensor]  # h_k -> the layers after k: [rows from offsets[k + 1], d_k]

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
            w_cond = base[:, z_width:] + bias[:, None] if base.shape[1] > z_width else bias[:, None]
            w_h = [
                torch.cat(
                    [ws[j][:, offsets[j] - offsets[k + 1] : offsets[j] - offsets[k]]
                     for j in range(k + 1, len(ws))]
                ).contiguous()
                for k in range(len(dims) - 1)
            ]  # fmt: skip
            return cls(offsets, base[:, :z_width].contiguous(), w_cond.contiguous(), w_h)

    def __call__(self, z: Tensor, cond: Tensor | None) -> Tensor:
        """Raw outputs, transposed ([width, rows]), for noise ``z`` ([rows, z width]) and
        conditional slots ``cond`` ([rows] int64, or None without label columns)."""
        if cond is None:
            pre = self.w_cond.expand(-1, len(z)).contiguous()
        else:
            pre = self.w_cond.index_select(1, cond)
        pre.addmm_(self.w_z, z.T)
        at = self.offsets
        for k, w in enumerate(self.w_h):
            h = pre[at[k] : at[k + 1]].relu_()
            pre[at[k + 1] :].addmm_(w, h)
        return pre[at[-2] :]
