"""Ground-truth class-boundary bands at logit resolution (BPKD, WACV 2024).

BPKD (arXiv 2306.08075, Fig. 3(c)) builds a per-class edge mask from the
ground truth: ``one-hot -> dilation - erosion (k x k) -> avg-pool to the
logit size``. :func:`dense_edge_band` is that pipeline written literally (the
reference the tests compare with), :func:`gt_edge_band` computes the same
numbers without a full-resolution map per class:

* The band of class ``c`` at pixel ``p`` is ``dil(onehot_c)(p) AND
  dil(1 - onehot_c)(p)``: ``c`` occurs in the k x k window of ``p`` and the
  window is not uniformly ``c``. So a pixel is on some band only if its window
  is *mixed* (window max != window min of the label map, every ignore value
  folded into one sentinel), which two max-pools of the label map find.
* Only mixed pixels are visited: their k x k windows are gathered, the valid
  classes in each window mark the bands that pixel belongs to (deduplicated in
  a ``bool`` table), and each (pixel, class) pair adds its avg-pool weight to
  the cells of ``[N, C, h, w]`` that contain it (``adaptive_avg_pool2d``
  weights, so uneven sizes match too).

Memory is a few label-sized maps plus bounded chunks of mixed pixels, whatever
the number of classes; only classes present in a window are touched.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

__all__ = ['gt_edge_band', 'dense_edge_band', 'valid_label_mask']

# Mixed pixels handled at once (a few hundred bytes each).
_CHUNK_PIXELS = 1 << 14


def _check_args(labels: torch.Tensor, num_classes: int,
                kernel_size: int) -> None:
    if labels.dim() != 3:
        raise ValueError('labels should be (N, H, W), but got shape '
                         f'{tuple(labels.shape)}')
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError('labels should be an integer tensor, but got '
                        f'{labels.dtype}')
    if num_classes < 1:
        raise ValueError(
            f'num_classes should be positive, but got {num_classes}')
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError('kernel_size should be a positive odd integer, but '
                         f'got {kernel_size}')


def valid_label_mask(labels: torch.Tensor,
                     num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """Pixels holding a class in ``[0, num_classes)`` other than ignore.

    Padding (255 from ``SegDataPreProcessor``) and any other out-of-range
    value count as ignore, also when ``ignore_index`` is e.g. 11.

    Args:
        labels (Tensor): Label maps, shape (N, H, W), integer.
        num_classes (int): Number of classes C.
        ignore_index (int): Ignore value. Defaults to 255.

    Returns:
        Tensor: ``bool`` mask, shape (N, H, W).
    """
    return (labels >= 0) & (labels < num_classes) & (labels != ignore_index)


def _pool_weights(size: int, out: int,
                  device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cells of ``adaptive_avg_pool`` (1-D) containing each input position.

    Returns ``idx`` (size, 2) int64 and ``w`` (size, 2) float32: position
    ``y`` adds ``w[y, j]`` to cell ``idx[y, j]`` (``w = 0`` marks no cell).
    Equals ``avg_pool`` with kernel = stride = size // out when it divides.
    """
    i = torch.arange(out, device=device)
    start = torch.div(i * size, out, rounding_mode='floor')
    end = torch.div((i + 1) * size + out - 1, out, rounding_mode='floor')
    y = torch.arange(size, device=device)
    cover = (y[None] >= start[:, None]) & (y[None] < end[:, None])  # out,size
    w_full = cover.float() / (end - start).float()[:, None]
    # A position lies in at most two adaptive cells.
    w, idx = w_full.t().topk(min(2, out), dim=1)
    return idx, w


def _box_any(flag: torch.Tensor, pad: Tuple[int, int, int, int],
             box: Tuple[int, int]) -> torch.Tensor:
    """Whether a ``box`` (kh, kw) window holds a True, via an integral image.

    ``flag`` (N, H', W') is zero-padded by ``pad`` (left, right, top,
    bottom) first; the output has one entry per window position.
    """
    f = F.pad(flag.to(torch.int32), pad)
    f = F.pad(f.cumsum(1).cumsum(2), (1, 0, 1, 0))
    kh, kw = box
    s = f[:, kh:, kw:] - f[:, :-kh, kw:] - f[:, kh:, :-kw] + f[:, :-kh, :-kw]
    return s > 0


@torch.no_grad()
def gt_edge_band(labels: torch.Tensor,
                 num_classes: int,
                 out_size: Sequence[int],
                 kernel_size: int = 7,
                 ignore_index: int = 255,
                 zero_ignore_pixels: bool = True,
                 erode_valid_region: bool = False,
                 class_agnostic: bool = False,
                 chunk_pixels: int = _CHUNK_PIXELS) -> torch.Tensor:
    """Soft per-class edge band of the ground truth at logit resolution.

    Same values as :func:`dense_edge_band` (one-hot, ``max_pool`` dilation
    minus erosion, ``adaptive_avg_pool2d`` to ``out_size``), computed only at
    pixels whose k x k window holds more than one label, and only for the
    classes seen there; no (N, C, H, W) map is built.

    Args:
        labels (Tensor): Ground truth, shape (N, H, W), integer; values
            outside ``[0, num_classes)`` and ``ignore_index`` are ignore
            (all-zero one-hot), e.g. the 255 padding of mmseg.
        num_classes (int): Number of classes C (the logits' channels).
        out_size (Sequence[int]): Logit size (h, w).
        kernel_size (int): Morphology window k (odd); the band is ``k - 1``
            pixels wide, ``k // 2`` on each side. Defaults to 7.
        ignore_index (int): Ignore label. Defaults to 255.
        zero_ignore_pixels (bool): Drop ignore pixels from the band (the
            paper is silent on ignore pixels; mmkd's default reading).
            Defaults to True.
        erode_valid_region (bool): Also drop pixels within ``k // 2`` of an
            ignore pixel or padding, so void regions and crop padding make no
            band (a variant, mmkd's reading). Defaults to False.
        class_agnostic (bool): One band (union over classes) shared by every
            channel (a variant: Fig. 3 draws one band per class).
            Defaults to False.
        chunk_pixels (int): Mixed pixels processed at once (bounds the
            scratch memory). Defaults to 16384.

    Returns:
        Tensor: ``M_E`` in [0, 1], float32, shape (N, C, h, w) (a broadcast
        view of (N, 1, h, w) when ``class_agnostic``).
    """
    _check_args(labels, num_classes, kernel_size)
    n, height, width = labels.shape
    h, w = (int(v) for v in out_size)
    device = labels.device
    out_c = 1 if class_agnostic else num_classes
    out = torch.zeros(n * out_c * h * w, dtype=torch.float32, device=device)

    valid = valid_label_mask(labels, num_classes, ignore_index)
    # Fold every ignore value into one sentinel = num_classes.
    lab = torch.where(valid, labels.long(), num_classes)
    r = kernel_size // 2
    # Window of p is mixed iff it holds a horizontal or vertical label
    # change between two in-frame neighbours (frame: no change, as with
    # max_pool's -inf padding in the dense pipeline).
    keep = _box_any(lab[:, :, 1:] != lab[:, :, :-1], (r, r, r, r),
                    (kernel_size, kernel_size - 1))
    keep |= _box_any(lab[:, 1:, :] != lab[:, :-1, :], (r, r, r, r),
                     (kernel_size - 1, kernel_size))
    if zero_ignore_pixels:
        keep &= valid
    if erode_valid_region:  # no ignore pixel in the window
        keep &= ~_box_any(~valid, (r, r, r, r), (kernel_size, kernel_size))
    b, y, x = keep.nonzero(as_tuple=True)
    if b.numel() == 0:
        return out.view(n, out_c, h, w).expand(n, num_classes, h, w)

    if not class_agnostic:
        small = torch.uint8 if num_classes < 255 else torch.int64
        # (N, H, W, k, k) view of every window of the replicate-padded map.
        lab_pad = F.pad(
            lab[:, None].float(), (r, r, r, r),
            mode='replicate')[:, 0].to(small).contiguous()
        sn, sh, sw = lab_pad.stride()
        windows = lab_pad.as_strided(
            (n, height, width, kernel_size, kernel_size), (sn, sh, sw, sh, sw))
    iy, wy = _pool_weights(height, h, device)
    ix, wx = _pool_weights(width, w, device)
    for cb, cy, cx in zip(
            b.split(chunk_pixels), y.split(chunk_pixels),
            x.split(chunk_pixels)):
        if class_agnostic:
            # A mixed window holds at least one valid class (only one value
            # is the sentinel), so every kept pixel is on the union band.
            pb, py, px = cb, cy, cx
            cls = torch.zeros_like(cb)
        else:
            win = windows[cb, cy, cx].reshape(cb.numel(), -1).long()
            seen = torch.zeros(
                cb.numel(), num_classes + 1, dtype=torch.bool, device=device)
            seen.scatter_(1, win, True)
            pairs_p, cls = seen[:, :num_classes].nonzero(as_tuple=True)
            pb, py, px = cb[pairs_p], cy[pairs_p], cx[pairs_p]
        base = (pb * out_c + cls) * (h * w)
        for jy in range(iy.shape[1]):
            for jx in range(ix.shape[1]):
                weight = wy[py, jy] * wx[px, jx]
                idx = base + iy[py, jy] * w + ix[px, jx]
                out.index_add_(0, idx, weight)
    return out.view(n, out_c, h, w).expand(n, num_classes, h, w)


@torch.no_grad()
def dense_edge_band(labels: torch.Tensor,
                    num_classes: int,
                    out_size: Optional[Sequence[int]] = None,
                    kernel_size: int = 7,
                    ignore_index: int = 255,
                    zero_ignore_pixels: bool = True,
                    erode_valid_region: bool = False,
                    class_agnostic: bool = False) -> torch.Tensor:
    """The literal Fig. 3(c) pipeline on a full (N, C, H, W) one-hot.

    Reference for tests and benchmarks; it allocates several
    float maps of N*C*H*W, so use :func:`gt_edge_band` in training.
    Arguments as in :func:`gt_edge_band`; ``out_size=None`` returns the
    binary band at label resolution.

    Returns:
        Tensor: float32, shape (N, C, h, w), or (N, C, H, W).
    """
    _check_args(labels, num_classes, kernel_size)
    valid = valid_label_mask(labels, num_classes, ignore_index)
    oh = F.one_hot(labels.masked_fill(~valid, 0).long(), num_classes)
    oh = oh.permute(0, 3, 1, 2).float() * valid[:, None]
    r = kernel_size // 2
    dil = F.max_pool2d(oh, kernel_size, 1, r)
    ero = 1 - F.max_pool2d(1 - oh, kernel_size, 1, r)
    edge = (dil - ero).clamp(0, 1)
    if zero_ignore_pixels:
        edge = edge * valid[:, None]
    if erode_valid_region:
        inv = (~valid)[:, None].float()
        edge = edge * (1 - F.max_pool2d(inv, kernel_size, 1, r))
    if class_agnostic:
        edge = edge.amax(1, keepdim=True).expand_as(edge)
    if out_size is None:
        return edge
    h, w = (int(v) for v in out_size)
    height, width = edge.shape[-2:]
    if (height, width) == (h, w):
        return edge
    if height % h == 0 and width % w == 0:
        k = (height // h, width // w)
        return F.avg_pool2d(edge, k, k)
    return F.adaptive_avg_pool2d(edge, (h, w))
