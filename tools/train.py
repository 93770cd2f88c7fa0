"""Train a model (a mmkd Distiller or any OpenMMLab model) from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmkd  # noqa: F401  (registers mmkd and applies the stack fixes)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
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
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def setup_cpu_distributed(cfg) -> None:
    """DDP on CPUs (gloo): mmengine would call ``torch.cuda.set_device`` and
    give DDP ``device_ids``, both of which fail without a GPU. Start the
    process group here and wrap without device ids. SyncBN needs GPUs: use
    BN in configs that train on CPUs with several processes."""
    import torch.distributed as dist
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    # device_ids=None: mmengine defaults them to [LOCAL_RANK], a GPU index
    # (also for a config's own wrapper, e.g. a comparison's)
    cfg.setdefault(
        'model_wrapper_cfg',
        dict(type='MMDistributedDataParallel', broadcast_buffers=False))
    cfg.model_wrapper_cfg.setdefault('device_ids', None)
    if not dist.is_initialized():
        dist.init_process_group('gloo')


def build_runner(args) -> Runner:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP is already enabled in the config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.launcher != 'none' and not torch.cuda.is_available():
        setup_cpu_distributed(cfg)
    return Runner.from_cfg(cfg)


def main():
    build_runner(parse_args()).train()


if __name__ == '__main__':
    main()
