"""tools/analysis/comparison_seeds.py: one table from the seeds of a
comparison run, read from the runs' scalars.json as mmengine writes them."""
import json

import pytest

from tests.utils import load_tool


def write_run(work_dir, starts):
    """``starts``: one list of records per (re)start of the run."""
    for i, records in enumerate(starts):
        folder = work_dir / f'2026120{i}_000000' / 'vis_data'
        folder.mkdir(parents=True)
        (folder / 'scalars.json').write_text(''.join(
            json.dumps(r) + '\n' for r in records))


def val(step, **arms):
    return dict(
        step=step, time=0.1, **{f'{a}/mIoU': v
                                for a, v in arms.items()})


def train(step):  # a training record: the arms' losses, 'iter'
    return {'student/loss': 1.0, 'cwd/loss': 2.0, 'iter': step, 'step': step}


def test_mean_spread_and_difference_to_the_first_arm(tmp_path, capsys):
    tool = load_tool('tools/analysis/comparison_seeds.py')
    s0, s1 = tmp_path / 'run_s0', tmp_path / 'run_s1'
    # seed 0 was resumed: its second start validated 500 again (it wins)
    write_run(s0, [[
        train(250),
        val(250, student=20.0, cwd=30.0),
        val(500, student=1.0, cwd=1.0)
    ], [train(500), val(500, student=40.0, cwd=44.0)]])
    write_run(
        s1,
        [[val(250, student=22.0, cwd=26.0),
          val(500, student=36.0, cwd=41.0)]])
    tool.main([str(s0), str(s1), '--curve'])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ('| arm (mIoU at step 500) | run_s0 | run_s1 | mean '
                        '| spread | vs student |')
    assert lines[2] == '| student | 40.00 | 36.00 | 38.00 | 4.00 | +0.00 |'
    assert lines[3] == '| cwd | 44.00 | 41.00 | 42.50 | 3.00 | +4.50 |'
    assert lines[7:] == [
        '| student | 21.00 | 38.00 |', '| cwd | 28.00 | 42.50 |'
    ]

    tool.main([str(s0), str(s1), '--step', '250'])
    assert '| cwd | 30.00 | 26.00 | 28.00 | 4.00 | +7.00 |' in \
        capsys.readouterr().out


def test_errors_name_what_exists(tmp_path):
    tool = load_tool('tools/analysis/comparison_seeds.py')
    run = tmp_path / 'run'
    write_run(run, [[val(250, student=20.0)]])
    with pytest.raises(KeyError, match=r'no validation at step 500.*\[250\]'):
        tool.main([str(run), '--step', '500'])
    with pytest.raises(KeyError, match=r"no 'coco/bbox_mAP'.*\['mIoU'\]"):
        tool.main([str(run), '--metric', 'coco/bbox_mAP'])
    with pytest.raises(FileNotFoundError, match='comparison run'):
        tool.main([str(tmp_path / 'elsewhere')])


def test_a_training_value_at_the_validation_steps(tmp_path, capsys):
    tool = load_tool('tools/analysis/comparison_seeds.py')
    s0, s1 = tmp_path / 'run_s0', tmp_path / 'run_s1'
    for run, scale in ((s0, 1.0), (s1, 2.0)):
        records = []
        for step in (50, 100, 250, 500):
            record = train(step)
            record['acam/distill.loss_acam_l0_mask_s_mean'] = scale / step
            records.append(record)
        records += [val(250, student=1.0), val(500, student=2.0)]
        write_run(run, [records])
    key = 'acam/distill.loss_acam_l0_mask_s_mean'
    tool.main([str(s0), str(s1), '--train-key', key])
    lines = capsys.readouterr().out.splitlines()
    assert lines[-5:] == [
        f'| step ({key}) | run_s0 | run_s1 |', '|---|---|---|',
        '| 50 | 0.02 | 0.04 |', '| 250 | 0.004 | 0.008 |',
        '| 500 | 0.002 | 0.004 |'
    ]
    with pytest.raises(KeyError, match=r"no training 'acam/x'.*cwd/loss"):
        tool.main([str(s0), '--train-key', 'acam/x'])


def test_an_epoch_based_detection_run(tmp_path, capsys):
    """COCO's fractions as percentages with --scale 100; a validation's step
    is its epoch, a training step an iteration: the training value at epoch
    E is the last one logged in epoch E."""
    tool = load_tool('tools/analysis/comparison_seeds.py')
    run = tmp_path / 'run_s0'
    key = 'acam/distill.loss_acam_distill'
    records = []
    for epoch, iters in ((1, (10, 20)), (2, (30, 40))):
        for it in iters:
            records.append({
                key: 1.0 / it,
                'iter': it,
                'epoch': epoch,
                'step': it
            })
        records.append({
            'step': epoch,
            'student/coco/bbox_mAP': 0.25 * epoch,
            'acam/coco/bbox_mAP': 0.2 * epoch
        })
    write_run(run, [records])
    tool.main([
        str(run), '--metric', 'coco/bbox_mAP', '--scale', '100', '--curve',
        '--train-key', key
    ])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == '| student | 50.00 | 50.00 | 0.00 | +0.00 |'
    assert lines[3] == '| acam | 40.00 | 40.00 | 0.00 | -10.00 |'
    assert lines[7:9] == [
        '| student | 25.00 | 50.00 |', '| acam | 20.00 | 40.00 |'
    ]
    assert lines[-3:] == [
        '| 10 | 0.1 |', '| epoch 1 (iter 20) | 0.05 |',
        '| epoch 2 (iter 40) | 0.025 |'
    ]
