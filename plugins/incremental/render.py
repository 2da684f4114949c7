"""Rendering the pages a build must write, on every core.

The writer only queues pages while Pelican's generators run; once the last generator is done,
`render_all` renders them. With more than one process, the build forks: each child inherits the
finished context (articles, templates, settings) copy-on-write, renders its share and exits;
the parent renders its own share and waits. Pages are independent, so any split writes the
same bytes. Every page goes through `write_atomic`: a killed build leaves whole files only.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pelican import signals
from pelican.utils import get_relative_path, path_to_url, sanitised_join

from aggregator.atomic import write_atomic

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
MIN_PAGES_PER_PROCESS = 200  # below this a fork costs more than it saves
ERROR_BYTES = 64 * 1024


def build_processes(settings: Mapping[str, Any]) -> int:
    """BUILD_PROCESSES: how many processes a build works in (default: one per core)."""
    return int(settings.get("BUILD_PROCESSES") or os.cpu_count() or 1)


class RenderError(RuntimeError):
    """A page could not be rendered (in this process or a child)."""


@dataclass
class Job:
    """One page to render: what Pelican's Writer.write_file would render for it."""

    name: str
    template: Any
    context: dict[str, Any]
    relative_urls: bool
    kwargs: Mapping[str, Any]


@dataclass
class FeedJob:
    """One feed to write (`IncrementalWriter.write_feed` queued it and claimed its path)."""

    name: str
    write: Callable[[], None]


def render_page(output_path: str, job: Job) -> None:
    """Render one page as Pelican's Writer does (same local context), written atomically."""
    context = job.context
    local = context.copy()
    local["localsiteurl"] = local.get("localsiteurl", None)
    if job.relative_urls:
        relative = path_to_url(get_relative_path(job.name))
        local["SITEURL"] = relative
        local["localsiteurl"] = relative
    local["output_file"] = job.name
    local.update(job.kwargs)
    if local["localsiteurl"]:
        context["localsiteurl"] = local["localsiteurl"]
    html = job.template.render(local)
    path = sanitised_join(output_path, job.name)
    write_atomic(Path(path), html)
    logger.info('Writing "%s"', path)
    signals.content_written.send(path, context=local)


def _render_share(output_path: str, jobs: Sequence[Job | FeedJob]) -> None:
    for job in jobs:
        try:
            if isinstance(job, FeedJob):
                job.write()
            else:
                render_page(output_path, job)
        except Exception as exc:
            made_with = "the feed writer" if isinstance(job, FeedJob) else \
                getattr(job.template, "name", "?")
            raise RenderError(f"{job.name}: cannot render with {made_with}: {exc}") from exc


def render_all(output_path: str, jobs: Sequence[Job | FeedJob], processes: int, *,
               min_pages: int = MIN_PAGES_PER_PROCESS) -> None:
    """Render every job, split over `processes` processes (this one included), each with at
    least `min_pages` pages."""
    in_processes(jobs, processes, lambda share: _render_share(output_path, share),
                 min_items=min_pages)


def in_processes(items: Sequence[T], processes: int, work: Callable[[Sequence[T]], R], *,
                 min_items: int = MIN_PAGES_PER_PROCESS) -> list[R]:
    """`work` over `items` split in interleaved shares, one per process: this one and forked
    children, which inherit everything copy-on-write. Returns each share's result (children
    send theirs back pickled through a temporary file); a failure anywhere is raised here."""
    processes = max(1, min(processes, len(items) // max(1, min_items) or 1))
    if processes == 1 or not hasattr(os, "fork"):
        return [work(items)]
    # Everything made so far (articles, threads, templates) goes to the permanent generation:
    # the collector stops walking it, so neither process touches (and so copies) those pages.
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    children: list[tuple[int, int, str]] = []
    with tempfile.TemporaryDirectory(prefix="build-share-") as folder:
        for index in range(1, processes):
            result_path = os.path.join(folder, f"{index}.pickle")
            pid, pipe = _fork(partial(work, items[index::processes]), result_path)
            children.append((pid, pipe, result_path))
        failure: BaseException | None = None
        results: list[R] = []
        try:
            results.append(work(items[0::processes]))
        except BaseException as exc:  # noqa: BLE001 - children are waited for first
            failure = exc
        errors = []
        for pid, pipe, result_path in children:
            error = _wait(pid, pipe)
            if error:
                errors.append(error)
            elif failure is None:
                results.append(_result(result_path))
    if not frozen_before:
        gc.unfreeze()
    if failure is not None:
        raise failure
    if errors:
        raise RenderError("a build process failed:\n" + "\n".join(errors))
    return results


class Background:
    """`work` running in a forked process while this one goes on (a plugin reading its files
    while Pelican reads the posts on the other core); `result()` waits for it."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._folder = tempfile.mkdtemp(prefix="build-background-")
        self._path = os.path.join(self._folder, "result.pickle")
        self._pid, self._pipe = _fork(work, self._path)
        self._done = False

    def result(self) -> Any:
        """The work's result; RenderError if it failed (or was collected already)."""
        if self._done:
            raise RenderError("a background result is collected once")
        self._done = True
        try:
            error = _wait(self._pid, self._pipe)
            if error:
                raise RenderError("a background build process failed:\n" + error)
            try:
                return _result(self._path)
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                raise RenderError(f"a background build process's result is unreadable: "
                                  f"{exc}") from exc
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)

    def close(self) -> None:
        """Wait for the process if nobody collected it (a build that failed meanwhile)."""
        if not self._done:
            try:
                self.result()
            except RenderError as exc:
                logger.debug("background work not used: %s", exc)


class Staged:
    """Steps run one after the other in one forked process, each step's result collected as
    soon as that step is done (`result(i)`), while the later ones go on: a publish's walk of
    the comments, then the plugins' work that needs it. The child reports each finished step
    with one byte on a pipe; a failure sends its traceback instead and ends it."""

    def __init__(self, steps: Sequence[Callable[[], Any]]) -> None:
        self._folder = tempfile.mkdtemp(prefix="build-staged-")

        def run(pipe: int) -> None:
            for index, step in enumerate(steps):
                _dump(step(), self._path(index))
                os.write(pipe, b"+")

        self._pid, self._pipe = _fork_child(run, error_mark=b"!")
        self._done = 0  # steps the child said are done
        self._error = b""
        self._ended = False  # the pipe is closed: the child is gone
        self._waited = False

    def _path(self, index: int) -> str:
        return os.path.join(self._folder, f"{index}.pickle")

    def result(self, index: int) -> Any:
        """Step `index`'s result (waiting for it); RenderError if it failed or never ran."""
        while self._done <= index and not self._ended:
            self._read()
        if index < self._done:
            try:
                return _result(self._path(index))
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                raise RenderError(f"a background build step's result is unreadable: "
                                  f"{exc}") from exc
        self.close()
        raise RenderError("a background build process failed: " + (
            self._error[1:].decode("utf-8", "replace").strip() or "it ended early"))

    def _read(self) -> None:
        data = os.read(self._pipe, ERROR_BYTES)
        if not data:
            self._ended = True
        elif self._error:
            self._error = (self._error + data)[:ERROR_BYTES]
        else:
            done, failed, error = data.partition(b"!")
            self._done += done.count(b"+")
            self._error = failed + error

    def close(self, *, stop: bool = False) -> None:
        """Wait for the process (`stop`: end it first, its remaining steps unwanted) and
        remove its files."""
        if self._waited:
            return
        self._waited = True
        if stop:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while not self._ended:
            self._read()
        os.close(self._pipe)
        os.waitpid(self._pid, 0)
        shutil.rmtree(self._folder, ignore_errors=True)


def _fork(work: Callable[[], Any], result_path: str) -> tuple[int, int]:
    """A child that runs `work`, pickles its result to `result_path` and exits; a failure's
    traceback comes back through the returned pipe."""
    return _fork_child(lambda _pipe: _dump(work(), result_path))


def _fork_child(body: Callable[[int], None], *, error_mark: bytes = b"") -> tuple[int, int]:
    """A forked child that runs `body` (given the write end of a pipe to the parent) and exits
    0; if it fails, `error_mark` and its traceback go down the pipe and it exits 1. Returns
    the child's pid and the read end."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        gc.freeze()  # what it inherited is not its to collect (or to copy by walking it)
        status = 0
        try:
            body(write_end)
        except BaseException:  # noqa: BLE001 - everything goes back to the parent
            status = 1
            os.write(write_end, error_mark + traceback.format_exc().encode()[-ERROR_BYTES:])
        finally:
            os.close(write_end)
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _dump(result: Any, path: str) -> None:
    with open(path, "wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _wait(pid: int, pipe: int) -> str:
    """Wait for a child: '' if it succeeded, else what went wrong."""
    with os.fdopen(pipe, "rb") as handle:
        message = handle.read(ERROR_BYTES).decode("utf-8", "replace")
    _pid, status = os.waitpid(pid, 0)
    if status != 0:
        return message.strip() or f"process {pid} ended with status {status}"
    return ""


def _result(path: str) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - our own child's file
