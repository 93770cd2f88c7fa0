"""Cut an unpacked mmcv 2.1.0 source tree down to a few compiled ops.

    python tools/env/mmcv_reduce_ops.py SRC_DIR OP [OP ...]
    python tools/env/mmcv_reduce_ops.py --cuda-include

``OP`` is the stem of an op's file in ``mmcv/ops/csrc/pytorch/`` (``nms``,
``roi_align``, ``focal_loss``, ``ms_deform_attn``, ...). A full build of
mmcv's ops compiles about 60 ops for every CUDA architecture asked for;
a GPU check that needs four of them builds in a fraction of the time
(docs/get_started.md, "Checking a GPU machine").

What it changes, in place:

- deletes the C++/CUDA sources of every other op (``setup.py`` compiles
  whatever its globs find);
- keeps, in ``pybind.cpp``, the Python bindings (``m.def``) of the kept ops'
  functions only, and in ``cuda/cudabind.cpp`` the CUDA registrations of
  the kept ops only (the others would name functions that no longer exist,
  and the extension would not load);
- makes ``mmcv.utils.ext_loader.load_ext`` give a function that was not
  built a stand-in that raises, naming the op, when called: importing
  ``mmcv.ops`` imports every op's module, and each asks for its functions.

Run it before the ``-std=c++20`` sed and the build; running it twice is a
no-op for the files already cut.
"""
import re
import sys
from pathlib import Path

ALWAYS = ('info', 'pybind')  # compiler/CUDA version queries, the bindings


def definitions(text: str) -> set:
    """Names of the functions a C++ file defines (a parameter list followed
    by a body, not a declaration ending in ';')."""
    return set(re.findall(r'\b(\w+)\s*\([^;{}]*\)\s*(?:const\s*)?\{', text))


def statements(text: str) -> list:
    """Top-level pieces of a C++ file: preprocessor lines, comments,
    declarations and macro calls up to ';', and function definitions up to
    their closing brace (with a trailing ';')."""
    pieces, start, depth, i = [], 0, 0, 0
    while i < len(text):
        if text.startswith('//', i):
            i = text.find('\n', i)
            i = len(text) if i < 0 else i
        elif text[i] == '#' and depth == 0 and text[start:i].strip() == '':
            i = text.find('\n', i)
            i = len(text) if i < 0 else i
            pieces.append(text[start:i + 1])
            start = i + 1
        elif text[i] == '{':
            depth += 1
        elif text[i] == '}':
            depth -= 1
            if depth == 0:
                end = i + 1
                if text[end:end + 1] == ';':
                    end += 1
                pieces.append(text[start:end])
                start = i = end
                continue
        elif text[i] == ';' and depth == 0:
            pieces.append(text[start:i + 1])
            start = i + 1
        i += 1
    pieces.append(text[start:])
    return pieces


def cut_pybind(path: Path, kept_functions: set) -> int:
    """Drop the ``m.def`` lines of functions that are no longer built."""
    text = path.read_text()
    head, sep, body = text.partition('PYBIND11_MODULE(')
    if not sep:
        raise SystemExit(f'{path}: no PYBIND11_MODULE found')
    opening = body.index('{') + 1
    inside, closing = body[opening:].rsplit('}', 1)
    kept, dropped = [], 0
    for piece in statements(inside):
        name = re.search(r'm\.def\(\s*"\w+"\s*,\s*&(\w+)', piece)
        if name and name.group(1) not in kept_functions:
            dropped += 1
            continue
        kept.append(piece)
    path.write_text(head + sep + body[:opening] + ''.join(kept) + '}' +
                    closing)
    return dropped


def cut_cudabind(path: Path, kept_impls: set) -> int:
    """Keep the CUDA registrations (and the wrappers they register) of the
    kept ops' ``*_impl`` dispatchers; declarations stay (unused ones cost
    nothing)."""
    pieces = statements(path.read_text())
    registered = {}
    for piece in pieces:
        reg = re.search(
            r'REGISTER_DEVICE_IMPL\(\s*(\w+)\s*,\s*CUDA\s*,\s*'
            r'(\w+)\s*\)', piece)
        if reg:
            registered[reg.group(2)] = reg.group(1)
    kept, dropped = [], 0
    for piece in pieces:
        reg = re.search(r'REGISTER_DEVICE_IMPL\(\s*(\w+)', piece)
        if reg and reg.group(1) not in kept_impls:
            dropped += 1
            continue
        defined = definitions(piece)
        if defined and '{' in piece and not any(
                registered.get(name) in kept_impls for name in defined):
            dropped += 1
            continue
        kept.append(piece)
    path.write_text(''.join(kept))
    return dropped


LOADER_FIX = '''
def _not_built(fun, name):
    """Stand-in for an op left out of a reduced build
    (mmkd's tools/env/mmcv_reduce_ops.py)."""

    def missing(*args, **kwargs):
        raise RuntimeError(
            f'mmcv.{name}.{fun} was not compiled: this mmcv was built with a '
            'reduced set of ops (tools/env/mmcv_reduce_ops.py); add the op '
            'that defines it and rebuild')

    return missing

'''


def fix_loader(path: Path) -> None:
    text = path.read_text()
    if '_not_built' in text:
        return
    old = ' ' * 12 + "assert hasattr(ext, fun), f'{fun} miss in module {name}'"
    if old not in text:
        raise SystemExit(f'{path}: the check to replace was not found '
                         '(not mmcv 2.1.0?)')
    text = text.replace(
        old, '            if not hasattr(ext, fun):  # a reduced build\n'
        '                setattr(ext, fun, _not_built(fun, name))')
    text = text.replace("if torch.__version__ != 'parrots':",
                        LOADER_FIX + "if torch.__version__ != 'parrots':", 1)
    path.write_text(text)


def cuda_include_dirs() -> str:
    """The include folders of the NVIDIA wheels torch depends on
    (``site-packages/nvidia/cu13/include``, ...), joined with ':' for CPATH:
    torch's CUDA headers include cusparse.h, cublas_v2.h, ..., which a CUDA
    install with only the compiler and runtime lacks."""
    try:
        import nvidia
    except ImportError:
        return ''
    found = []
    for root in getattr(nvidia, '__path__', []):
        for sub in sorted(Path(root).iterdir()):
            if (sub / 'include').is_dir():
                found.append(str(sub / 'include'))
    return ':'.join(found)


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ['--cuda-include']:
        print(cuda_include_dirs())
        return
    if len(args) < 2:
        raise SystemExit(__doc__)
    root = Path(args[0])
    ops = set(args[1:])
    csrc = root / 'mmcv' / 'ops' / 'csrc' / 'pytorch'
    if not (csrc / 'pybind.cpp').is_file():
        raise SystemExit(f'{root} is not an unpacked mmcv source tree '
                         f'(no {csrc / "pybind.cpp"})')
    known = {p.stem for p in csrc.glob('*.cpp')} - set(ALWAYS)
    unknown = ops - known
    if unknown:
        raise SystemExit(f'unknown ops {sorted(unknown)}; the ops are the '
                         f'file stems in {csrc}: {sorted(known)}')
    keep = ops | set(ALWAYS)
    removed = []
    for path in csrc.glob('*.cpp'):
        if path.stem not in keep:
            removed.append(path)
    for path in (csrc / 'cpu').glob('*.cpp'):
        if path.stem not in ops:
            removed.append(path)
    for path in (csrc / 'cuda').glob('*.cu'):
        if path.stem.replace('_cuda', '') not in ops:
            removed.append(path)
    for path in removed:
        path.unlink()
    kept_text = ''.join((csrc / f'{op}.cpp').read_text() for op in keep)
    functions = definitions(kept_text)
    # the device dispatchers the kept ops call (``nms_impl``,
    # ``ms_deform_attn_impl_forward``, ...)
    impls = set(re.findall(r'DISPATCH_DEVICE_IMPL\(\s*(\w+)', kept_text))
    dropped_defs = cut_pybind(csrc / 'pybind.cpp', functions)
    dropped_regs = 0
    if (csrc / 'cuda' / 'cudabind.cpp').is_file():
        dropped_regs = cut_cudabind(csrc / 'cuda' / 'cudabind.cpp', impls)
    fix_loader(root / 'mmcv' / 'utils' / 'ext_loader.py')
    print(f'mmcv ops kept: {sorted(ops)}; {len(removed)} source files '
          f'removed, {dropped_defs} bindings and {dropped_regs} CUDA '
          'registration pieces dropped')


if __name__ == '__main__':
    main()
