import itertools

import pytest
import torch

from mmkd.ops import dense_edge_band, gt_edge_band


def _step_row(k, width=16, step=8):
    labels = torch.zeros(1, 1, width, dtype=torch.long)
    labels[..., step:] = 1
    band = gt_edge_band(labels, 2, (1, width), kernel_size=k)
    return [torch.nonzero(band[0, c, 0])[:, 0].tolist() for c in range(2)]


@pytest.mark.parametrize('k,cols', [(3, [7, 8]), (5, [6, 7, 8, 9]),
                                    (7, [5, 6, 7, 8, 9, 10])])
def test_band_geometry(k, cols):
    band0, band1 = _step_row(k)
    assert band0 == cols and band1 == cols


def test_avg_pool_three_eighths():
    labels = torch.zeros(2, 16, 64, dtype=torch.long)
    labels[..., 32:] = 1
    full = gt_edge_band(labels, 2, (16, 64), kernel_size=7)
    assert torch.nonzero(full[0, 0, 0])[:, 0].tolist() == list(range(29, 35))
    soft = gt_edge_band(labels, 2, (2, 8), kernel_size=7)
    expected = torch.zeros(8)
    expected[3] = expected[4] = 0.375
    for n, c, y in itertools.product(range(2), range(2), range(2)):
        torch.testing.assert_close(soft[n, c, y], expected)


def test_no_frame_edges():
    labels = torch.full((1, 24, 24), 3, dtype=torch.long)
    assert gt_edge_band(labels, 5, (3, 3)).sum() == 0


@pytest.mark.parametrize('zero_ignore,cols', [(True, [7]), (False, [7, 8])])
def test_ignore_row(zero_ignore, cols):
    labels = torch.tensor([[[0] * 8 + [255] * 8]])
    band = gt_edge_band(
        labels, 2, (1, 16), kernel_size=3, zero_ignore_pixels=zero_ignore)
    assert torch.nonzero(band[0, 0, 0])[:, 0].tolist() == cols
    assert band[0, 1].sum() == 0


def test_erode_valid_region_drops_void_bands():
    labels = torch.tensor([[[0] * 8 + [255] * 8]])
    band = gt_edge_band(labels, 2, (1, 16), 3, erode_valid_region=True)
    assert band.sum() == 0


def test_ignore_index_and_padding_both_ignored():
    # CamVid: void = 11 as ignore_index, and 255 padding.
    labels = torch.tensor([[[0] * 4 + [11] * 4 + [255] * 4]])
    band = gt_edge_band(labels, 11, (1, 12), 3, ignore_index=11)
    assert torch.nonzero(band[0, 0, 0])[:, 0].tolist() == [3]
    assert band[0, 1:].sum() == 0


def _random_labels(n, h, w, num_classes, seed):
    g = torch.Generator().manual_seed(seed)
    # Blocky maps (realistic edges) plus salt noise and a padded border.
    small = torch.randint(
        0, num_classes, (n, 1, h // 4 + 1, w // 4 + 1), generator=g).float()
    labels = torch.nn.functional.interpolate(small, scale_factor=4.0)
    labels = labels[:, 0, :h, :w].long()
    noise = torch.rand(n, h, w, generator=g) < 0.05
    labels[noise] = torch.randint(
        0, num_classes, (int(noise.sum()), ), generator=g)
    labels[torch.rand(n, h, w, generator=g) < 0.03] = 255
    labels[:, -3:, :] = 255
    return labels


@pytest.mark.parametrize('size,out,k,zero_ignore,erode,agnostic',
                         [((32, 48), (4, 6), 7, True, False, False),
                          ((30, 45), (4, 6), 5, True, False, False),
                          ((23, 17), (23, 17), 3, False, False, False),
                          ((32, 32), (8, 8), 7, False, True, False),
                          ((31, 40), (7, 9), 7, True, True, True),
                          ((32, 32), (4, 4), 9, False, False, True)])
def test_matches_dense_reference(size, out, k, zero_ignore, erode, agnostic):
    labels = _random_labels(2, *size, num_classes=6, seed=sum(size) + k)
    kwargs = dict(
        kernel_size=k,
        zero_ignore_pixels=zero_ignore,
        erode_valid_region=erode,
        class_agnostic=agnostic)
    ref = dense_edge_band(labels, 7, out, **kwargs)
    fast = gt_edge_band(labels, 7, out, **kwargs)
    assert fast.shape == (2, 7, *out) and fast.dtype == torch.float32
    assert ref.sum() > 0
    torch.testing.assert_close(fast, ref, rtol=1e-6, atol=1e-6)


def test_small_chunks_match():
    labels = _random_labels(2, 40, 40, num_classes=5, seed=1)
    ref = gt_edge_band(labels, 5, (5, 5))
    chunked = gt_edge_band(labels, 5, (5, 5), chunk_pixels=7)
    torch.testing.assert_close(chunked, ref)


def test_all_ignore_and_single_class():
    assert gt_edge_band(torch.full((2, 16, 16), 255), 3, (2, 2)).sum() == 0
    assert gt_edge_band(torch.ones(2, 16, 16, dtype=torch.long), 3,
                        (2, 2)).sum() == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match='kernel_size'):
        gt_edge_band(torch.zeros(1, 4, 4, dtype=torch.long), 2, (1, 1), 4)
    with pytest.raises(ValueError, match='labels should be'):
        gt_edge_band(torch.zeros(4, 4, dtype=torch.long), 2, (1, 1))
    with pytest.raises(TypeError, match='integer'):
        gt_edge_band(torch.zeros(1, 4, 4), 2, (1, 1))


def test_uint8_labels():
    labels = torch.zeros(1, 8, 16, dtype=torch.uint8)
    labels[..., 8:] = 255
    labels[..., 4:8] = 1
    ref = dense_edge_band(labels.long(), 2, (2, 4), kernel_size=3)
    torch.testing.assert_close(
        gt_edge_band(labels, 2, (2, 4), kernel_size=3), ref)
