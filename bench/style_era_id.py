"""Era identification for chapter 7: styled toward each era, which version does the classifier find most like that era?

The measurement lives with the closed loop in `bench/style_closed_loop.py` (both need the same transfers); this
script is the same program, under the name the issue asks for. Chance is 1/3 with three eras.

    MELONPY_SHARED=../shared nice python bench/style_era_id.py --model era.safetensors --methods fast --covers 30
"""
from pathlib import Path
import runpy, sys

if __name__ == '__main__':
    sys.path.insert(0, str(Path(__file__).parent))
    from style_closed_loop import main
    main()
