from django.db import models


class Widget(models.Model):
    name = models.CharField(max_length=50)
    # Not in 0001_initial: the change someone forgot to make a migration for.
    colour = models.CharField(max_length=20, default="red")
