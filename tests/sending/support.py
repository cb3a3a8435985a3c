"""Helpers the engine's tests share: a config with overrides, a running mailing, a queued batch, its sending."""

import dataclasses
from datetime import timedelta

from django.utils import timezone

from mailings.models import Mailing
from mailings.sending.batch import batch_send
from mailings.sending.circuit import Circuit, CircuitSettings
from mailings.sending.config import SendingConfig
from tests.factories import MailingFactory, MessageFactory


def _config(**overrides) -> SendingConfig:
    config = SendingConfig.from_settings()
    gateway = overrides.pop("gateway", {})
    return dataclasses.replace(config, gateway=dataclasses.replace(config.gateway, **gateway), **overrides)


def _running(**kwargs) -> Mailing:
    now = timezone.now()
    kwargs.setdefault("start_datetime", now - timedelta(minutes=1))
    kwargs.setdefault("end_datetime", now + timedelta(hours=1))
    return MailingFactory(status=Mailing.Status.RUNNING, started_at=now, **kwargs)


def _queued(mailing, n=1, **fields) -> tuple[list[int], int]:
    """n messages of `mailing` queued under one token, as dispatch leaves them."""
    token = 1000 + mailing.pk
    ids = [MessageFactory(mailing=mailing, token=token, **fields).pk for _ in range(n)]
    return ids, token


def _send(mailing, ids, token, **config):
    return batch_send(
        mailing_id=mailing.pk,
        message_ids=ids,
        token=token,
        config=_config(**config),
        circuits=Circuit(CircuitSettings(threshold=3, cooldown=30, refresh=0)),
    )
