"""`shopclerk finetune`: train the store's own model from the exported dataset.

    shopclerk finetune [--train PATH] [--validation PATH] [--model BASE] [--no-wait] [--dry-run]
    shopclerk finetune status [JOB_ID] [--follow]

The settings and the API client come from Typer's context (`learning.command_context`): the
composition root (`shopclerk.cli`) puts them there, tests put their own with a client over a fake
server. `openai` is imported only when a command runs, to keep every other command's start-up
quick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from learning.command_context import CommandServices, CommandSettings, fail, services

if TYPE_CHECKING:
    from learning.finetune import FineTuning, TrainingRequest

Work = Callable[["FineTuning"], Awaitable[None]]

DEFAULT_SEED = 42  # the same data and seed train the same model

PollSeconds = Annotated[
    float, typer.Option("--poll-seconds", min=0, help="How often to ask how the job is doing.")
]


def check_key(settings: CommandSettings) -> None:
    """Fine-tuning runs on a server that knows who pays: a key, or a local server (a base URL)
    that takes none."""
    from learning.finetune import FinetuneError

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if not key and not settings.openai_base_url:
        raise FinetuneError(
            "fine-tuning needs OPENAI_API_KEY (or OPENAI_BASE_URL for a server that takes no key)"
        )


def make_finetune_app() -> typer.Typer:
    """The `finetune` command group; settings and client come from the context."""
    app = typer.Typer(invoke_without_command=True)

    @app.callback()
    def train(
        ctx: typer.Context,
        train: Annotated[
            Path | None,
            typer.Option(
                "--train",
                help="The training examples.",
                show_default="DATA_DIR/datasets/train.jsonl",
            ),
        ] = None,
        validation: Annotated[
            Path | None,
            typer.Option(
                "--validation",
                help="Held-out examples the job measures the model on.",
                show_default="DATA_DIR/datasets/validation.jsonl, if there",
            ),
        ] = None,
        model: Annotated[
            str | None,
            typer.Option(
                "--model", help="The base model to train.", show_default="SHOPCLERK_OPENAI_MODEL"
            ),
        ] = None,
        seed: Annotated[
            int, typer.Option(help="The same data and seed train the same model.")
        ] = DEFAULT_SEED,
        no_wait: Annotated[
            bool,
            typer.Option(
                "--no-wait", help="Start the job and return; `finetune status` finishes it."
            ),
        ] = False,
        poll_seconds: PollSeconds = 10.0,
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="Check the files as the job would and say what would be sent; "
                "send nothing (needs no key).",
            ),
        ] = False,
    ) -> None:
        """Fine-tune the base model on the exported dataset and follow the job to its end.

        The new model's id goes to DATA_DIR/finetuned-model.json, and the openai generator
        answers with it from then on. `shopclerk finetune status` looks at a job later.
        """
        if ctx.invoked_subcommand is not None:
            return
        from learning.finetune import TrainingRequest, default_dataset

        current = services(ctx).settings
        request = TrainingRequest(
            base_model=model or current.openai_model,
            train=train or default_dataset(current.data_dir, "train"),
            validation=validation or _existing(default_dataset(current.data_dir, "validation")),
            seed=seed,
        )
        if dry_run:
            _dry_run(request)
            return
        started: list[str] = []  # the job's id once it exists, for Ctrl-C

        async def work(tuning: FineTuning) -> None:
            job = await tuning.start(request)
            started.append(job.id)
            if no_wait:
                typer.echo(
                    f"job {job.id} runs on the server; `shopclerk finetune status` shows "
                    "how it is doing (--follow waits for it to end)"
                )
                return
            await tuning.follow(job.id)

        _run(services(ctx), poll_seconds, work, lambda: started[0] if started else None)

    @app.command("status")
    def status(
        ctx: typer.Context,
        job_id: Annotated[
            str | None,
            typer.Argument(help="The job's id.", show_default="the last one started here"),
        ] = None,
        follow: Annotated[bool, typer.Option(help="Keep following until the job ends.")] = False,
        poll_seconds: PollSeconds = 10.0,
    ) -> None:
        """Show a job's status and latest events; write the model file once it has succeeded."""
        from learning.finetune import FINISHED, STATUS_BACKLOG

        async def work(tuning: FineTuning) -> None:
            wanted = job_id or _recorded_job_id(tuning)
            if follow:
                job = await tuning.follow(wanted, backlog=STATUS_BACKLOG)
            else:
                job = await tuning.look(wanted)
            if job.status not in FINISHED:
                typer.echo("`shopclerk finetune status --follow` waits for it to end")

        _run(services(ctx), poll_seconds, work, lambda: job_id)

    return app


def _dry_run(request: TrainingRequest) -> None:
    """What `FineTuning.start` would check and send, without sending it."""
    from learning.finetune import MIN_TRAINING_EXAMPLES, FinetuneError, check_dataset

    try:
        train = check_dataset(request.train, minimum=MIN_TRAINING_EXAMPLES)
        validation = check_dataset(request.validation) if request.validation else None
    except FinetuneError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"would train {request.base_model} on {train.examples} examples ({train.path})")
    if validation is not None:
        typer.echo(f"measured on {validation.examples} examples ({validation.path})")
    typer.echo(f"seed {request.seed}; nothing was sent: run it without --dry-run to start the job")


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def _recorded_job_id(tuning: FineTuning) -> str:
    from learning.finetune import FinetuneError

    record = tuning.recorded_job()
    if record is None:
        raise FinetuneError(
            "no job started here yet: give its id, or start one with `shopclerk finetune`"
        )
    return record.job_id


def _run(
    given: CommandServices,
    poll_seconds: float,
    work: Work,
    job_id: Callable[[], str | None],
) -> None:
    """Run `work` with a client; every failure ends as one `error:` line and exit 1."""
    import openai

    from learning.finetune import FinetuneError, api_problem

    try:
        check_key(given.settings)
        asyncio.run(_with_client(given, poll_seconds, work))
    except FinetuneError as exc:
        raise fail(str(exc)) from exc
    except openai.APIError as exc:
        known = job_id()
        hint = f"; job {known} continues: `shopclerk finetune status {known}`" if known else ""
        raise fail(api_problem(exc) + hint) from exc
    except KeyboardInterrupt:
        known = job_id()
        if known:
            typer.echo(
                f"\nstopped following; job {known} continues on the server "
                f"(`shopclerk finetune status {known} --follow` follows it)"
            )
        else:
            typer.echo("\nstopped before a job was started")
        raise typer.Exit(130) from None


async def _with_client(given: CommandServices, poll_seconds: float, work: Work) -> None:
    from learning.finetune import JOB_FILE_NAME, FineTuning

    settings = given.settings
    async with given.openai_client() as client:
        tuning = FineTuning(
            client,
            model_file=settings.finetuned_model_file,
            job_file=settings.data_dir / JOB_FILE_NAME,
            say=typer.echo,
            poll_seconds=poll_seconds,
        )
        await work(tuning)


finetune_app = make_finetune_app()
