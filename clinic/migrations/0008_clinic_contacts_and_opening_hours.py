"""Who patients call about a warning sign: the clinic's country, emergency number,
out-of-hours phone and opening hours; its climate. Clinic admins may now edit their own
clinic and its opening hours, so the role groups get those permissions."""

import clinic.countries
import django.db.models.deletion
from django.db import migrations, models

from clinic.roles import role_groups_migrate


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0007_clinic_require_two_factor'),
        # The role groups hold aftercare permissions too: made after aftercare's models.
        ('aftercare', '0012_staff_page_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='OpeningHours',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weekday', models.PositiveSmallIntegerField(choices=[(0, 'Monday'), (1, 'Tuesday'), (2, 'Wednesday'), (3, 'Thursday'), (4, 'Friday'), (5, 'Saturday'), (6, 'Sunday')])),
                ('opens', models.TimeField(help_text='Local time, e.g. 09:00.')),
                ('closes', models.TimeField(help_text='Local time, e.g. 18:00; after the opening time.')),
            ],
            options={
                'verbose_name': 'opening hours',
                'verbose_name_plural': 'opening hours',
                'ordering': ['clinic', 'weekday', 'opens'],
            },
        ),
        migrations.AddField(
            model_name='clinic',
            name='climate',
            field=models.CharField(blank=True, choices=[('', 'From the time zone'), ('temperate', 'Temperate'), ('tropical', 'Tropical')], help_text='Decides the seasonal advice: tropical clinics get heat and humidity advice, never winter or summer. Empty: from the time zone (tropical between the tropics).', max_length=10),
        ),
        migrations.AddField(
            model_name='clinic',
            name='country',
            field=models.CharField(blank=True, help_text='Two capital letters (ISO 3166), e.g. GB, US or AU. It decides the emergency number patients are told to call. Empty: the country of the time zone.', max_length=2, validators=[clinic.countries.validate_country]),
        ),
        migrations.AddField(
            model_name='clinic',
            name='emergency_number',
            field=models.CharField(blank=True, help_text="The number patients call for a severe allergic reaction, e.g. 999. Empty: the usual emergency number of the country (112 if we don't know it).", max_length=20, validators=[clinic.countries.validate_phone]),
        ),
        migrations.AddField(
            model_name='clinic',
            name='out_of_hours_phone',
            field=models.CharField(blank=True, help_text="Where patients call about a warning sign when the clinic is closed. Empty: they are told to call the emergency number or go to urgent care if it can't wait.", max_length=40, validators=[clinic.countries.validate_phone], verbose_name='out-of-hours phone'),
        ),
        migrations.AddConstraint(
            model_name='clinic',
            constraint=models.CheckConstraint(condition=models.Q(('country', ''), ('country__regex', '^[A-Z]{2}$'), _connector='OR'), name='clinic_country_two_capitals'),
        ),
        migrations.AddConstraint(
            model_name='clinic',
            constraint=models.CheckConstraint(condition=models.Q(('climate__in', ['', 'temperate', 'tropical'])), name='clinic_climate_valid'),
        ),
        migrations.AddField(
            model_name='openinghours',
            name='clinic',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='opening_hours', to='clinic.clinic'),
        ),
        migrations.AddConstraint(
            model_name='openinghours',
            constraint=models.CheckConstraint(condition=models.Q(('weekday__gte', 0), ('weekday__lte', 6)), name='opening_hours_weekday'),
        ),
        migrations.AddConstraint(
            model_name='openinghours',
            constraint=models.CheckConstraint(condition=models.Q(('opens__lt', models.F('closes'))), name='opening_hours_opens_before_closes'),
        ),
        migrations.RunPython(role_groups_migrate, migrations.RunPython.noop),
    ]
