"""Mounted at ``/admin/`` before Django's admin: its login behind the console's sign-in limits."""

from __future__ import annotations

from django.urls import path

from agents.console.signin import admin_sign_in

urlpatterns = [
    path("login/", admin_sign_in, name="admin_sign_in"),
]
