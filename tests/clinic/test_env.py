"""EMAIL_URL (clinic.env.email_settings): SMTP and Django's backends through django-environ,
email providers through django-anymail."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from clinic.env import email_settings


def test_email_url_configures_smtp_with_starttls():
    config = email_settings("smtp+tls://user:p%40ss@mail.example:587")
    assert config["EMAIL_HOST"] == "mail.example"
    assert config["EMAIL_PORT"] == 587
    assert config["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert config["EMAIL_USE_TLS"] is True


def test_email_url_smtp_gives_every_smtp_setting_with_defaults():
    assert email_settings("smtp://mail.example") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example",
        "EMAIL_PORT": 25,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10,
    }


def test_email_url_smtps_is_implicit_tls_on_port_465():
    # django-environ's own `smtps` means STARTTLS; ours is TLS from the first byte.
    config = email_settings("smtps://user:pass@mail.example?timeout=3")
    assert (config["EMAIL_PORT"], config["EMAIL_USE_SSL"], config["EMAIL_USE_TLS"]) == (
        465,
        True,
        False,
    )
    assert config["EMAIL_TIMEOUT"] == 3


def test_email_url_smtp_ignores_other_query_options():
    config = email_settings("smtp://mail.example?email_use_ssl=1")
    assert config["EMAIL_USE_SSL"] is False
    assert "OPTIONS" not in config


def test_email_url_smtp_without_a_host_is_refused():
    with pytest.raises(ImproperlyConfigured, match="has no host"):
        email_settings("smtp://")


def test_email_url_smtp_with_a_timeout_that_is_not_whole_seconds_is_refused():
    with pytest.raises(ImproperlyConfigured, match="timeout must be whole seconds"):
        email_settings("smtp://mail.example?timeout=soon")


def test_email_url_console_prints_emails():
    assert email_settings("console://") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }


def test_email_url_locmem_keeps_emails_in_memory():
    assert email_settings("locmem://") == {
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"
    }


def test_email_url_file_writes_to_the_absolute_folder():
    assert email_settings("file:///var/mail/aftercare%20out") == {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": "/var/mail/aftercare out",
    }


def test_email_url_refuses_an_unknown_scheme():
    with pytest.raises(ImproperlyConfigured, match="scheme 'pop3'"):
        email_settings("pop3://mail.example")


# EMAIL_URL for email providers' APIs (django-anymail)


def test_email_url_postmark_gives_the_backend_and_its_server_token():
    config = email_settings("postmark://pm%2Ftoken@")
    assert config == {
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL": {"REQUESTS_TIMEOUT": 10, "POSTMARK_SERVER_TOKEN": "pm/token"},
    }


def test_email_url_mailgun_gives_the_api_key_and_the_sending_domain():
    config = email_settings("mailgun://key-123@mg.clinic.example")
    assert config["EMAIL_BACKEND"] == "anymail.backends.mailgun.EmailBackend"
    assert config["ANYMAIL"] == {
        "REQUESTS_TIMEOUT": 10,
        "MAILGUN_API_KEY": "key-123",
        "MAILGUN_SENDER_DOMAIN": "mg.clinic.example",
    }


def test_email_url_mailgun_takes_the_eu_api_url():
    config = email_settings(
        "mailgun://key-123@mg.clinic.example?api_url=https://api.eu.mailgun.net/v3"
    )
    assert config["ANYMAIL"]["MAILGUN_API_URL"] == "https://api.eu.mailgun.net/v3"


def test_email_url_sendgrid_gives_the_backend_and_its_api_key():
    config = email_settings("sendgrid://SG.abc.def@")
    assert config["EMAIL_BACKEND"] == "anymail.backends.sendgrid.EmailBackend"
    assert config["ANYMAIL"]["SENDGRID_API_KEY"] == "SG.abc.def"


def test_email_url_sendgrid_takes_the_key_as_password_after_a_user_name():
    # SendGrid's SMTP user name is "apikey"; the same URL shape gives the key.
    config = email_settings("sendgrid://apikey:SG.abc.def@")
    assert config["ANYMAIL"]["SENDGRID_API_KEY"] == "SG.abc.def"


def test_email_url_brevo_gives_the_backend_and_its_api_key():
    config = email_settings("brevo://xkeysib-123@")
    assert config["EMAIL_BACKEND"] == "anymail.backends.brevo.EmailBackend"
    assert config["ANYMAIL"]["BREVO_API_KEY"] == "xkeysib-123"


def test_email_url_provider_api_url_and_timeout_are_read_from_the_query():
    config = email_settings("brevo://xkeysib-123@?api_url=http://127.0.0.1:8025/v3/&timeout=3")
    assert config["ANYMAIL"]["BREVO_API_URL"] == "http://127.0.0.1:8025/v3/"
    assert config["ANYMAIL"]["REQUESTS_TIMEOUT"] == 3


def test_email_url_ses_gives_the_backend_region_and_credentials():
    config = email_settings("ses://AKIDEXAMPLE:wJalr%2FK7MDENG@eu-west-1?timeout=4")
    assert config["EMAIL_BACKEND"] == "anymail.backends.amazon_ses.EmailBackend"
    assert config["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"] == {
        "region_name": "eu-west-1",
        "aws_access_key_id": "AKIDEXAMPLE",
        "aws_secret_access_key": "wJalr/K7MDENG",
        "config": {"connect_timeout": 4, "read_timeout": 4},
    }


def test_email_url_ses_without_credentials_leaves_them_to_aws():
    client = email_settings("ses://eu-west-1")["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"]
    assert "aws_access_key_id" not in client
    assert "aws_secret_access_key" not in client


def test_email_url_ses_takes_an_endpoint_url():
    config = email_settings("ses://eu-west-1?endpoint_url=http://127.0.0.1:4566")
    assert config["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"]["endpoint_url"] == "http://127.0.0.1:4566"


@pytest.mark.parametrize("url", ["postmark://", "sendgrid://@", "brevo://?timeout=5"])
def test_email_url_provider_without_an_api_key_is_refused(url):
    scheme = url.split(":")[0]
    with pytest.raises(ImproperlyConfigured, match=rf"{scheme}://API_KEY@ needs the API key"):
        email_settings(url)


def test_email_url_mailgun_without_an_api_key_is_refused():
    with pytest.raises(ImproperlyConfigured, match="needs the API key"):
        email_settings("mailgun://mg.clinic.example")


def test_email_url_mailgun_without_a_sending_domain_is_refused():
    with pytest.raises(
        ImproperlyConfigured, match="mailgun://API_KEY@DOMAIN needs the sending domain"
    ):
        email_settings("mailgun://key-123@")


def test_email_url_ses_without_a_region_is_refused():
    with pytest.raises(ImproperlyConfigured, match="ses://REGION needs the AWS region"):
        email_settings("ses://AKIDEXAMPLE:secret@")


def test_email_url_provider_with_a_timeout_that_is_not_whole_seconds_is_refused():
    with pytest.raises(ImproperlyConfigured, match="timeout must be whole seconds"):
        email_settings("postmark://token@?timeout=2.5")


def test_email_url_unknown_scheme_lists_the_schemes_it_knows():
    with pytest.raises(ImproperlyConfigured) as refused:
        email_settings("sparkpost://key@")
    for scheme in ("smtp", "smtps", "console", "postmark", "mailgun", "sendgrid", "brevo", "ses"):
        assert scheme in str(refused.value)
