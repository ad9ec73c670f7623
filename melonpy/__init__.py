__version__ = "0.0.1"

import warnings as _w
# fastai's layers still use `torch.jit.script`, which torch 2.10+ flags on every import; it is not ours to fix
# and would print in every `melonpy` command and notebook, so silence exactly that message.
_w.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
