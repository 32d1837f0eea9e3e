"""Signals notifications sends for the layers above (the programme checklist listens)."""

from django.dispatch import Signal

# send(sender=Channel, channel=Channel, delivery=Delivery, by=User | None, at=datetime)
channel_test_delivered = Signal()
