import pytest
import torch
import torch.nn as nn

from mmkd.distillers.taps import FeatureTaps, StopForward, Tap


def net():
    return nn.Sequential(
        nn.Conv2d(3, 4, 1), nn.Sequential(nn.ReLU(), nn.Conv2d(4, 2, 1)))


def test_output_and_input_taps():
    model = net()
    taps = FeatureTaps(model, [Tap('0'), Tap('1.1', 'input')], 'student')
    x = torch.randn(1, 3, 2, 2)
    with taps:
        model(x)
    records = taps.pop()
    assert torch.equal(records[Tap('0')], model[0](x))
    assert torch.equal(records[Tap('1.1', 'input')], model[0](x).relu())
    # hooks exist only inside the block, and records are gone after pop
    assert not model[0]._forward_hooks and not model[1][1]._forward_pre_hooks
    assert taps._records == {}


def test_wrong_path_lists_closest_names():
    with pytest.raises(
            KeyError,
            match=r"no module '1.2'; closest valid names: \['1.1', '1.0', '1'\]"
    ):
        FeatureTaps(net(), [Tap('1.2')], 'student')


def test_missing_record_is_an_error():
    model = net()
    taps = FeatureTaps(model, [Tap('1.1')], 'teacher')
    with taps:
        model[0](torch.randn(1, 3, 2, 2))
    with pytest.raises(
            RuntimeError, match=r"never ran the tapped modules \['1.1'\]"):
        taps.pop()


def test_repeated_calls_give_a_list_and_stop_early():
    shared = nn.Conv2d(2, 2, 1)
    calls = []

    class Twice(nn.Module):

        def __init__(self):
            super().__init__()
            self.shared, self.tail = shared, nn.Conv2d(2, 2, 1)

        def forward(self, x):
            y = self.shared(self.shared(x))
            calls.append('tail')
            return self.tail(y)

    model = Twice()
    taps = FeatureTaps(model, [Tap('shared')], 'teacher', stop_early=True)
    x = torch.randn(1, 2, 2, 2)
    with taps:
        model(x)  # first forward runs to the end to count the calls
    assert len(taps.pop()[Tap('shared')]) == 2 and calls == ['tail']
    with pytest.raises(StopForward), taps:
        model(x)
    assert len(taps.pop()[Tap('shared')]) == 2 and calls == ['tail']
