from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients and treatments"

    def ready(self) -> None:
        from patients.audit import register_audited_models

        register_audited_models()
