import pytest
from django.core.exceptions import ImproperlyConfigured

from clinic.env import email_settings, env_bool, env_int, env_list


def test_env_bool_reads_common_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", default=True) is False


def test_env_bool_refuses_a_value_it_cannot_read(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be true or false"):
        env_bool("FLAG")


def test_env_int_refuses_text(monkeypatch):
    monkeypatch.setenv("PORT_NUMBER", "eighty")
    with pytest.raises(ImproperlyConfigured, match="PORT_NUMBER must be a whole number"):
        env_int("PORT_NUMBER", 1)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_email_url_configures_smtp_with_starttls():
    config = email_settings("smtp+tls://user:p%40ss@mail.example:587")
    assert config["EMAIL_HOST"] == "mail.example"
    assert config["EMAIL_PORT"] == 587
    assert config["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert config["EMAIL_USE_TLS"] is True


def test_email_url_console_prints_emails():
    assert email_settings("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")


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
