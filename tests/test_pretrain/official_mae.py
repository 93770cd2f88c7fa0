"""Test-only re-statement of the official G2SD ``G2SD/models_mae.py``
(github.com/pengzhiliang/G2SD @ 6146adf; MAE's ``models_mae.py`` with
G2SD's noise argument, ``suplayer`` and feature heads) and of MAE's
``util/pos_embed.get_2d_sincos_pos_embed``.

The official file is not shipped with mmkd (it imports timm 0.3.2), so its
maths is written out here in plain PyTorch, with its module and parameter
names, so that a state dict in the official layout comes from
``MaskedAutoencoderViT.state_dict()``. Only what G2SD's forward runs is
restated: PatchEmbed (a strided conv, then flatten), pre-norm blocks with
qkv bias, explicit softmax attention, ``random_masking(x, ratio, noise)``,
``forward_encoder``, ``forward_decoder`` (stopping after block
``suplayer`` for a teacher), the student's ``decoderfeature_pred`` and
``encoderfeature_pred`` heads, and ``forward``'s ``supervise_all``
outputs. The drop-path and dropout layers are identities in G2SD's runs and
are left out; the attention's qkv/relation outputs are not restated.
"""
import numpy as np
import torch
import torch.nn as nn


def get_2d_sincos_pos_embed(embed_dim, grid_size, cls_token=False):
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0)  # w goes first
    grid = grid.reshape([2, 1, grid_size, grid_size])

    def one_d(dim, pos):
        omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.)
        omega = 1. / 10000**omega
        out = np.einsum('m,d->md', pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    emb = np.concatenate(
        [one_d(embed_dim // 2, grid[0]),
         one_d(embed_dim // 2, grid[1])],
        axis=1)
    if cls_token:
        emb = np.concatenate([np.zeros([1, embed_dim]), emb], axis=0)
    return emb


class Mlp(nn.Module):

    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads,
                                  C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).float().softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Block(nn.Module):

    def __init__(self, dim, num_heads, mlp_ratio=4.):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):

    def __init__(self, img_size, patch_size, embed_dim):
        super().__init__()
        self.patch_size = (patch_size, patch_size)
        self.num_patches = (img_size // patch_size)**2
        self.proj = nn.Conv2d(3, embed_dim, patch_size, patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class MaskedAutoencoderViT(nn.Module):
    """Official defaults except the sizes, which the tests choose."""

    def __init__(self,
                 img_size=224,
                 patch_size=16,
                 embed_dim=1024,
                 depth=24,
                 num_heads=16,
                 decoder_embed_dim=512,
                 decoder_depth=8,
                 decoder_num_heads=16,
                 mlp_ratio=4.,
                 teacher=False,
                 suplayer=4,
                 encoder_pred_channel=768,
                 decoder_pred_channel=512,
                 supervise_all=False):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, embed_dim)
        num_patches = self.patch_embed.num_patches
        self.supervise_all = supervise_all
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + 1, embed_dim), requires_grad=False)
        self.blocks = nn.ModuleList(
            [Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.decoder_pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + 1, decoder_embed_dim),
            requires_grad=False)
        self.decoder_blocks = nn.ModuleList([
            Block(decoder_embed_dim, decoder_num_heads, mlp_ratio)
            for _ in range(decoder_depth)
        ])
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size**2 * 3)
        self.teacher = teacher
        self.suplayer = suplayer
        if not teacher:
            self.encoderfeature_pred = Mlp(embed_dim, encoder_pred_channel,
                                           encoder_pred_channel)
            self.decoderfeature_pred = Mlp(decoder_embed_dim,
                                           decoder_pred_channel,
                                           decoder_pred_channel)

    def random_masking(self, x, mask_ratio, noise):
        N, L, D = x.shape
        len_keep = int(L * (1 - mask_ratio))
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, :len_keep]
        x_masked = torch.gather(
            x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))
        mask = torch.ones([N, L], device=x.device)
        mask[:, :len_keep] = 0
        mask = torch.gather(mask, dim=1, index=ids_restore)
        return x_masked, mask, ids_restore

    def forward_encoder(self, x, mask_ratio, noise):
        x = self.patch_embed(x)
        x = x + self.pos_embed[:, 1:, :]
        x, mask, ids_restore = self.random_masking(x, mask_ratio, noise)
        cls_token = self.cls_token + self.pos_embed[:, :1, :]
        x = torch.cat((cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        for blk in self.blocks:
            x = blk(x)
        prenorm_feature = x
        return self.norm(x), mask, ids_restore, prenorm_feature

    def forward_decoder(self, x, ids_restore):
        x = self.decoder_embed(x)
        mask_tokens = self.mask_token.repeat(
            x.shape[0], ids_restore.shape[1] + 1 - x.shape[1], 1)
        x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)
        x_ = torch.gather(
            x_,
            dim=1,
            index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        x = torch.cat([x[:, :1, :], x_], dim=1)
        x = x + self.decoder_pos_embed
        for index, blk in enumerate(self.decoder_blocks, 1):
            x = blk(x)
            if index == self.suplayer and self.teacher:
                break
        return x

    def forward(self, imgs, noise, mask_ratio=0.75):
        """(student or teacher decoder output, mask): the student's
        ``pred_decoder_feature`` or the teacher's ``decoder_hidden``, all
        1 + L tokens with ``supervise_all``, else the masked patches only."""
        latent, mask, ids_restore, _ = self.forward_encoder(
            imgs, mask_ratio, noise)
        hidden = self.forward_decoder(latent, ids_restore)
        if not self.teacher:
            hidden = self.decoderfeature_pred(hidden)
        if not self.supervise_all:
            return hidden[:, 1:, :][mask.bool()], mask
        return hidden, mask
