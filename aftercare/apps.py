from django.apps import AppConfig


class AftercareConfig(AppConfig):
    name = "aftercare"
    verbose_name = "Aftercare guidance and plans"

    def ready(self) -> None:
        from aftercare.delivery import receivers  # noqa: F401 - the email provider's delivery reports
