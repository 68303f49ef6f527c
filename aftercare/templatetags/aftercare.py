import phonenumbers
from django import template
from django.utils.safestring import SafeString
from phonenumber_field.phonenumber import PhoneNumber, to_python

from aftercare.guidance.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.filter(name="phone_national")
def phone_national(number: object, country: str) -> str:
    """A stored (E.164) number as staff of a clinic in `country` dial it: the national
    form for the clinic's own country, the international form otherwise."""
    if not number:
        return ""
    parsed = to_python(number)
    if not isinstance(parsed, PhoneNumber) or not parsed.is_valid():
        return str(number)
    if phonenumbers.region_code_for_number(parsed) == country:
        return str(parsed.as_national)
    return str(parsed.as_international)
