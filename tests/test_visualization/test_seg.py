import numpy as np
import pytest

from mmkd.visualization import colorize, edge_band_maps


def test_colorize():
    labels = np.array([[0, 1, 255], [2, 7, -1]])
    palette = [(10, 20, 30), (40, 50, 60), (70, 80, 90)]
    out = colorize(labels, palette)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3)
    assert out.tolist() == [[[10, 20, 30], [40, 50, 60], [0, 0, 0]],
                            [[70, 80, 90], [0, 0, 0], [0, 0, 0]]]
    # the demo's choice: ignore and unknown labels in white
    white = colorize(
        labels,
        palette,
        ignore_colour=(255, 255, 255),
        unknown_colour=(255, 255, 255))
    assert white[0, 2].tolist() == white[1, 1].tolist() == [255, 255, 255]
    assert white[1, 2].tolist() == [255, 255, 255]
    with pytest.raises(ValueError, match=r'shape \(H, W\)'):
        colorize(labels[None], palette)


def test_edge_band_maps_step():
    # A vertical step at column 32, k = 7: the band is columns 29-34 at
    # label resolution; at stride 8 the two cells either side of the step
    # hold 3/8 of band pixels, the others none.
    labels = np.zeros((16, 64), np.int64)
    labels[:, 32:] = 1
    band, soft = edge_band_maps(labels, num_classes=2, kernel_size=7, stride=8)
    assert band.dtype == bool and band.shape == (16, 64)
    assert np.flatnonzero(band[0]).tolist() == list(range(29, 35))
    assert (band == band[:1]).all()
    expected = np.zeros((2, 8), np.float32)
    expected[:, 3:5] = 0.375
    np.testing.assert_allclose(soft, expected)


def test_edge_band_maps_ignore_and_uneven_size():
    # ignore pixels are off the band; 12 / 8 rounds the soft map up to 2
    labels = np.zeros((12, 16), np.uint8)
    labels[:, 8:] = 255
    labels[:6, :4] = 1
    band, soft = edge_band_maps(labels, num_classes=2, kernel_size=3)
    assert not band[:, 8:].any()
    assert band[:, 7].all()  # class 0 next to void: still an edge
    assert soft.shape == (2, 2)
