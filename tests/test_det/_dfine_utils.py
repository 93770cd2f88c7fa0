"""Tiny DINO / DINO+FDR models built from the shipped BCCD configs."""
from pathlib import Path

from mmengine.config import Config

CONFIG_DIR = Path(__file__).parents[2] / 'configs' / 'dfine'
BCCD = Path(__file__).parents[2] / '..' / 'shared' / 'data' / 'bccd'


def tiny_cfg(fdr: bool = True,
             num_queries: int = 12,
             dec_layers: int = 3,
             **head_kwargs) -> Config:
    """A BCCD config shrunk for unit tests (1 encoder layer, FFN 64).

    mmdet's DINO decoder hard-codes a 128-feature sine embedding, so the
    width stays 256 (the FDR decoder itself works at any width)."""
    name = ('dfine_' if fdr else '') + 'dino-4scale_r18_1xb4-4e_bccd.py'
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    m = cfg.model
    m.num_queries = num_queries
    m.test_cfg.max_per_img = num_queries
    m.encoder.num_layers = 1
    m.encoder.layer_cfg.ffn_cfg.feedforward_channels = 64
    m.decoder.layer_cfg.ffn_cfg.feedforward_channels = 64
    m.decoder.num_layers = dec_layers
    m.dn_cfg.group_cfg.num_dn_queries = 8
    if fdr:  # the host's classification unless a test asks for VFL / LQE
        m.bbox_head.update(cls_loss='host', use_lqe=False)
    m.bbox_head.update(head_kwargs)
    return cfg


def build(cfg: Config):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    import mmkd  # noqa: F401
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model
