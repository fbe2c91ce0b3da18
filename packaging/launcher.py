"""Entry point of the frozen Strata app (packaging/strata.spec): `strata` and `strata-view`.

One executable serves both commands, chosen by the name it is started as: the bundle's
`strata-view` is a symbolic link to `strata` (one copy of the Python archive, not two);
`strata view [FILE]` starts the viewer too. freeze_support() comes first: the viewer's codec
workers are multiprocessing 'spawn' children, which re-run this executable with
`--multiprocessing-fork`, and must become workers before anything else is imported.

STRATA_SMOKE_TEST=1 `strata-view FILE` is the bundle's self-test (scripts/build_bundle.sh): it
shows the window, opens FILE, waits until the codec worker has answered (torch and the weights
load in the frozen worker) and, for a .strata file, until its first layer is painted, then quits
with 0; 1 on a failure or after STRATA_SMOKE_TIMEOUT seconds (default 300); with
STRATA_SMOKE_SCREENSHOT=PATH it saves a picture of the window there first. It stands in for a
`strata-view --smoke-test` option until the viewer has one (the build script prefers that).
"""
import multiprocessing
import os
import sys


def main() -> int:
    multiprocessing.freeze_support()
    argv = sys.argv[1:]
    if os.path.basename(sys.argv[0]).startswith("strata-view") or argv[:1] == ["view"]:
        argv = argv[1:] if argv[:1] == ["view"] else argv
        if os.environ.get("STRATA_SMOKE_TEST") == "1":
            return smoke_test(argv)
        from viewer.app import main as view

        return view(argv)
    from codec.cli import main as cli

    return cli(argv)


def smoke_test(argv: list[str]) -> int:
    import asyncio

    import qasync

    from viewer.app import make_application, parse_args
    from viewer.widgets.main_window import MainWindow

    args = parse_args(argv)
    if not args.file:
        print("smoke test: give a file to open", file=sys.stderr)
        return 2
    timeout = float(os.environ.get("STRATA_SMOKE_TIMEOUT", "300"))
    app = make_application(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    notices: list[str] = []
    errors: list[str] = []

    async def run() -> None:
        opened, painted = asyncio.Event(), asyncio.Event()
        window.viewer.opened.connect(lambda path: opened.set())
        window.viewer.notice.connect(notices.append)
        window.panes[0].canvas.shown.connect(lambda token: painted.set())
        window.show()
        await window.open_path(args.file)
        if not opened.is_set():
            raise RuntimeError(f"{args.file} was not opened")
        while window.capabilities is None:  # the codec worker's first answer
            await asyncio.sleep(0.1)
        print(f"smoke test: worker on {window.capabilities.device}, models "
              f"{window.capabilities.models}", flush=True)
        if args.file.endswith(".strata"):
            await painted.wait()
            print("smoke test: first layer painted", flush=True)
        screenshot = os.environ.get("STRATA_SMOKE_SCREENSHOT")
        if screenshot:
            await asyncio.sleep(1.0)  # let the panel and status bar catch up
            window.grab().save(screenshot)

    with loop:
        try:
            loop.run_until_complete(asyncio.wait_for(run(), timeout))
        except asyncio.TimeoutError:
            errors.append(f"no result after {timeout:g} s")
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
        window.close()
    for line in notices + errors:
        print(f"smoke test: {line}", file=sys.stderr)
    failed = errors or any(notice.startswith("Could not") for notice in notices)
    print(f"smoke test: {'FAILED' if failed else 'passed'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
