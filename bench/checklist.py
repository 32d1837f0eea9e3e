"""Make a release with a 300-item checklist for the tick benchmark; print product/version/item id."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from django.utils import timezone  # noqa: E402

from board.lifecycle import release_create  # noqa: E402
from checklists.models import Checklist, ChecklistItem, ChecklistTemplate  # noqa: E402
from releases.models import Product  # noqa: E402

product = Product.objects.get(slug="api")
version = f"9.{timezone.now():%m%d%H%M%S}.0"
release = release_create(
    product=product, version=version, build=product.last_build_number + 1, state="candidate"
)
checklist = Checklist.objects.filter(release=release).first()  # copied when it became a candidate
if checklist is None:
    template = ChecklistTemplate.objects.filter(kind="release").first()
    checklist = Checklist.objects.create(
        template=template, kind="release", release=release, name="Bench", created_at=timezone.now()
    )
items = ChecklistItem.objects.bulk_create(
    ChecklistItem(
        checklist=checklist,
        section=f"Section {i // 30}",
        section_position=i // 30 + 10,
        title=f"Item {i}",
        position=i,
        core=i % 10 == 0,
    )
    for i in range(300)
)
print(f"{product.slug}/{version}/{items[150].pk}")
