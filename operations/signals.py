"""Signals operations sends for the layers above (the programme checklist listens)."""

from django.dispatch import Signal

# send(sender=Rehearsal, rehearsal=Rehearsal, actor=User | None)
rehearsal_recorded = Signal()
