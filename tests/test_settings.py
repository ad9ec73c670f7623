"One home for each setting (issue 32): every command's defaults are the library's, `melonpy run` agrees with the single commands, and a default moved into `melonpy.settings` is written once."
import dataclasses, inspect, re
from pathlib import Path
import pytest
from melonpy import settings as st

ROOT = Path(__file__).parent.parent

def default(cls, name):
    "The default a command applies for field `name`: the field's, or, when that is None because the library decides, the value its help states (`shown`: a number, or the years of a scrape; other text describes a rule)."
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    shown = f.metadata['shown']
    if f.default is None and shown is not None and (not isinstance(shown, str) or name == 'years'): return shown
    return f.default

def same(a, b):
    norm = lambda v: list(v) if isinstance(v, (tuple, list)) else v
    return norm(a) == norm(b)

def library():
    "Each command's settings class and the library functions whose parameters its fields are."
    from melonpy import scrape, data, splits, colors, learners, tuning, style, course
    return {st.ScrapeSettings: [scrape.scrape], st.DatasetSettings: [data.read_covers, splits.split_covers, splits.cover_arrays],
            st.AnalyzeSettings: [colors.analyze], st.TrainSettings: [learners.train_era_model], st.TuneSettings: [tuning.tune_era_model],
            st.StylizeSettings: [style.style_transfer, style.Paint], st.RunSettings: [course.run_course], st.KitSettings: [course.make_kit]}

DIFFER = {   # (command, field): why the command's default is not the library function's
    ('dataset', 'quality'): "'all' on the command line, None in the library: both keep every cover",
    ('analyze', 'quality'): "'all' on the command line, None in the library: both keep every cover",
    ('train', 'quality'): "'all' on the command line, None in the library: both keep every cover",
    ('stylize', 'method'): "the command picks by what it is given (grade for an era, fast for style images); style_transfer's own default is gatys",
    ('stylize', 'weights'): "None on the command line means torchvision's ImageNet weights, Paint's 'DEFAULT'",
    ('stylize', 'era_style'): "the command picks typical when --check gives a classifier; style_transfer's own default is average",
    ('stylize', 'refine'): "the command's fast route refines by default; Paint's refine is 0 unless asked",
    ('stylize', 'learn'): "a model file on the command line, a Learner in the library (both default to none)",
}

def command(cls): return next(k for k, (c, _) in __import__('melonpy.cli', fromlist=['commands']).commands.items() if c is cls)


def test_every_command_default_is_the_library_default():
    "A field that is a parameter of the library function the command calls has that parameter's default, or a reason in DIFFER."
    seen, wrong = set(), []
    for cls, fns in library().items():
        for fn in fns:
            params = inspect.signature(fn).parameters
            for f in dataclasses.fields(cls):
                p = params.get(f.name)
                if p is None or p.default is inspect.Parameter.empty or f.default is dataclasses.MISSING: continue   # required on the command line
                key = (command(cls), f.name)
                if key in DIFFER: seen.add(key); continue
                if not same(default(cls, f.name), p.default): wrong.append(f'{key}: {default(cls, f.name)!r} vs {fn.__name__}({f.name}={p.default!r})')
    assert not wrong, wrong
    assert seen == set(DIFFER), set(DIFFER) - seen   # no stale reason


RUN_DIFFER = {   # run setting: why `melonpy run` does not use the single command's default
    'style_size': 'a run stylises several covers on a CPU within minutes: 176 px, not stylize\'s 256',
    'style_covers': 'an era\'s style from 60 covers, not stylize\'s 100, for the same reason',
}
RUN_FROM = {   # run setting (`stages.default_settings`) -> (settings class, field) of the single command that does that stage's work
    'eras': (st.TrainSettings, 'eras'), 'quality': (st.TrainSettings, 'quality'), 'max_per_era': (st.TrainSettings, 'max_per_era'),
    'seed': (st.TrainSettings, 'seed'), 'color_size': (st.AnalyzeSettings, 'size'), 'n_boot': (st.AnalyzeSettings, 'n_boot'),
    'arch': (st.TrainSettings, 'arch'), 'pretrained': (st.TrainSettings, 'pretrained'), 'size': (st.TrainSettings, 'size'),
    'epochs': (st.TrainSettings, 'epochs'), 'freeze_epochs': (st.TrainSettings, 'freeze_epochs'), 'bs': (st.TrainSettings, 'bs'),
    'style_steps': (st.StylizeSettings, 'steps'), 'style_strength': (st.StylizeSettings, 'strength'),
    'style_size': (st.StylizeSettings, 'size'), 'style_covers': (st.StylizeSettings, 'max_covers'),
}

def test_run_agrees_with_the_single_commands():
    "`melonpy run`'s stage settings and flags have the defaults of the commands that do the same work (or a reason in RUN_DIFFER)."
    from melonpy.stages import default_settings
    wrong = [f'{k}: run {default_settings[k]!r} vs {cls.__name__}.{n} {default(cls, n)!r}' for k, (cls, n) in RUN_FROM.items()
             if k not in RUN_DIFFER and not same(default_settings[k], default(cls, n))]
    wrong += [k for k in RUN_DIFFER if same(default_settings[k], default(*RUN_FROM[k]))]   # a reason for a difference that is gone
    assert default_settings['style_method'] == st.StylizeSettings.era_method and default_settings['style_era_style'] == st.StylizeSettings.ranked_era_style
    # a flag `run` shares with another command means the same there (size and eras differ by design: each command's own subject)
    shared = {'quality', 'max_per_era', 'seed', 'pretrained', 'weights', 'threads', 'delay', 'years'}
    for name in shared:
        for cls in (st.ScrapeSettings, st.TrainSettings, st.TuneSettings, st.StylizeSettings, st.KitSettings):
            if name in {f.name for f in dataclasses.fields(cls)} and not same(default(st.RunSettings, name), default(cls, name)):
                wrong.append(f'run --{name} {default(st.RunSettings, name)!r} vs {cls.__name__} {default(cls, name)!r}')
    assert not wrong, wrong


ONCE = [   # (parameter, literal): a default that has one home, and must be written there only (`name = value`, `name=value`, `name: T = opt(value`)
    ('min_era_covers', '20'), ('years', "'1990-2019'"), ('era_method', "'grade'"), ('ranked_era_style', "'typical'"),
    ('epochs', '2'), ('freeze_epochs', '3'), ('n_trials', '8'), ('delay', '0.3'), ('archs', r"\('squeezenet1_1',\)"),
    ('max_covers', '100'), ('size', '256'), ('n_boot', '2000'), ('valid_pct', '0.15'), ('test_pct', '0.15'), ('max_dist', '8'), ('melon_url', r"'https://www\.melon\.com'"),
]

@pytest.mark.parametrize('name, literal', ONCE)
def test_a_default_is_written_once(name, literal):
    "grep for `name=literal` in the library finds one line: the setting's home (`melonpy.settings`, or `core` for what every chapter shares)."
    pat = re.compile(rf"\b{name}\b\s*(?::[^=\n]*)?=\s*(?:\w*opt\()?{literal}(?![\w.])")
    where = [f'{p.name}:{i}' for p in sorted((ROOT/'melonpy').glob('*.py')) if p.name != '_modidx.py'
             for i, l in enumerate(p.read_text().splitlines(), 1) if pat.search(l)]
    assert len(where) == 1 and where[0].split(':')[0] == {'min_era_covers': 'core.py', 'melon_url': 'core.py'}.get(name, 'settings.py'), where


@pytest.mark.parametrize('args, field, value', [
    (['analyze', 'covers', '--out', 'r', '--colours', '8'], 'k', 8), (['analyze', 'covers', '--out', 'r', '--colors', '8'], 'k', 8),
    (['stylize', 'a.jpg', '--style', 'b.jpg', '--out', 'o.png', '--method', 'colour'], 'method', 'color'),
    (['stylize', 'a.jpg', '--style', 'b.jpg', '--out', 'o.png', '--method', 'color'], 'method', 'color')])
def test_one_spelling_the_other_an_alias(args, field, value):
    "The API and the flags say color (as the module `colors`, `analyze` and `stylize` do); the command line also takes colour, and means the same."
    from melonpy.cli import command_parser, commands
    from melonpy.style import style_methods
    s = st.from_args(commands[args[0]][0], command_parser(args[0]).parse_args(args[1:]))
    assert getattr(s, field) == value
    assert 'color' in style_methods and 'colour' not in style_methods


def test_library_errors_speak_parameters_and_the_command_its_flags():
    "A library error names its parameter (`eras=...`); the command that called it shows the flag the user typed."
    from melonpy.core import UserError
    from melonpy.data import era_list
    with pytest.raises(UserError) as e: era_list(['all', '1990s'])
    assert str(e.value).startswith("eras=['all', '1990s']: all means every era")
    assert e.value.shown(st.flags_of(st.TrainSettings)).startswith('--eras all,1990s: all means every era')
    assert st.flags_of(st.TrainSettings)['sources'] == '--test-sources' and st.flags_of(st.StylizeSettings)['covers'] == '--data'


def british_names(source: str) -> list:
    "Public functions, classes, their parameters and attributes in Python `source` that spell colour the British way."
    import ast
    out = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith('_'): out.append(n.name)
        if isinstance(n, ast.FunctionDef) and not n.name.startswith('_'): out += [a.arg for a in n.args.args + n.args.kwonlyargs]
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == 'self': out.append(n.attr)
    return sorted({x for x in out if 'colour' in x.lower()})


def test_the_api_has_one_spelling():
    "No public function, class, parameter or attribute of the library says colour: the API says color, as the module `colors` does."
    found = {p.name: british_names(p.read_text()) for p in sorted((ROOT/'melonpy').glob('*.py')) if p.name != '_modidx.py'}
    assert not {k: v for k, v in found.items() if v}, found
    assert british_names('def target_colour(x, colours=True):\n    self.colour = 1') == ['colour', 'colours', 'target_colour']   # the check sees them
