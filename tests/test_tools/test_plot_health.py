"""tools/analysis/plot_health.py reads a run across its resumes."""
import json

from tests.utils import load_tool


def _write(folder, rows):
    folder.mkdir(parents=True)
    with open(folder / 'scalars.json', 'w') as f:
        for row in rows:
            f.write(json.dumps(row) + '\n')


def test_a_resumed_run_is_read_whole(tmp_path):
    key = 'health/cwd/cwd/ratio'
    # the first run checked at 50, 100, 150 and saved at 100; the resumed
    # run repeats 150 from the checkpoint and goes on
    _write(tmp_path / '20261207_060000' / 'vis_data', [{
        key: 1.0,
        'step': 50
    }, {
        'loss': 3.0,
        'step': 60
    }, {
        key: 2.0,
        'step': 100
    }, {
        key: 3.0,
        'step': 150
    }])
    _write(tmp_path / '20261207_070000' / 'vis_data', [{
        key: 4.0,
        'step': 150
    }, {
        key: 5.0,
        'step': 200
    }])
    tool = load_tool('tools/analysis/plot_health.py', 'mmkd_plot_health')
    series = tool.read_health(str(tmp_path))
    assert series[('cwd/cwd', 'ratio')] == [(50, 1.0), (100, 2.0), (150, 4.0),
                                            (200, 5.0)]
