"""Evaluate a model from a config and a checkpoint.

For a mmkd Distiller only the student is evaluated, and the teacher's
checkpoint is not loaded (the teacher does not run at test time).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
        [--precision fp32|bf16|fp16]

``--precision bf16`` evaluates with the weights and inputs cast once to
bfloat16, as ``teacher=dict(precision='bf16')`` runs a teacher
(``mmkd.EvalPrecisionHook``): check a teacher's metric before distilling
from it in low precision.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmkd  # noqa: F401  (registers mmkd and applies the stack fixes)
from mmkd.utils import student_only


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out', help='dump the evaluation results to this pickle file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--precision',
        choices=['fp32', 'bf16', 'fp16'],
        default='fp32',
        help='cast the weights and inputs once, as a teacher precision= does')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    student_only(cfg)  # a Distiller evaluates its student alone
    cfg.load_from = args.checkpoint
    if args.out is not None:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out))
    if args.precision != 'fp32':
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='mmkd.EvalPrecisionHook', precision=args.precision)
        ]
    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
