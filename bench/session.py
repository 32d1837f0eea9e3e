"""Print a session id for a user (for the load generators)."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402

user = get_user_model().objects.get(username=sys.argv[1])
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "accounts.backends.PasswordBackend"  # one of AUTHENTICATION_BACKENDS
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
