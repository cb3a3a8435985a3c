"""factory_boy factories for the domain models."""

from datetime import timedelta

import factory
from django.utils import timezone

from mailings.models import Client, Mailing, Message


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    phone_number = factory.Sequence(lambda n: f"7900{n:07d}")
    operator_code = "900"
    tag = "regular"
    timezone = "Europe/Moscow"


class MailingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailing

    start_datetime = factory.LazyFunction(timezone.now)
    end_datetime = factory.LazyAttribute(lambda o: o.start_datetime + timedelta(days=1))
    message_text = factory.Sequence(lambda n: f"Mailing number {n}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    mailing = factory.SubFactory(MailingFactory)
    client = factory.SubFactory(ClientFactory)
    phone_number = factory.LazyAttribute(lambda o: o.client.phone_number)
    status = Message.Status.PENDING
