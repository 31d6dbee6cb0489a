"""The built-in templates: what a tenant sends until it saves its own version.

Short, plain copy that reads well for any shop. Each one is checked against the catalogue
by the unit tests; marketing email carries the unsubscribe link.
"""

from __future__ import annotations

from patron_notifications.domain.channels import Channel
from patron_notifications.domain.delivery import Category
from patron_notifications.domain.templates import MessageTemplate

MARKETING_KEYS = frozenset(
    {"win_back", "abandoned_cart", "back_in_stock", "flash_sale", "birthday"}
)

_FOOTER_TEXT = "\n\n--\n{{ shop.name }} · {{ shop.url }}\nUnsubscribe: {{ unsubscribe_url }}\n"
_FOOTER_HTML = (
    '<p style="color:#888;font-size:12px">{{ shop.name }} · '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)
_ORDER_LINES_TEXT = (
    "{% for item in order.lines %}"
    "- {{ item.quantity }} x {{ item.name }} ({{ order.currency }} {{ item.unit_price }})\n"
    "{% endfor %}"
)
_ORDER_LINES_HTML = (
    "<ul>{% for item in order.lines %}"
    "<li>{{ item.quantity }} x {{ item.name }} ({{ order.currency }} {{ item.unit_price }})</li>"
    "{% endfor %}</ul>"
)

# key -> (subject, text, html); marketing ones get the unsubscribe footer appended
_EMAIL: dict[str, tuple[str, str, str]] = {
    "welcome": (
        "Welcome to {{ shop.name }}, {{ customer.first_name }}!",
        "Hi {{ customer.first_name }},\n\n"
        "Thanks for joining {{ shop.name }}. Your account is ready, and every order now earns "
        "you loyalty points.\n\nSee what's new: {{ shop.url }}\n\nThe {{ shop.name }} team\n",
        "<p>Hi {{ customer.first_name }},</p>"
        "<p>Thanks for joining {{ shop.name }}. Your account is ready, and every order now earns "
        "you loyalty points.</p>"
        '<p><a href="{{ shop.url }}">See what\'s new</a></p><p>The {{ shop.name }} team</p>',
    ),
    "birthday": (
        "Happy birthday, {{ customer.first_name }}!",
        "Happy birthday, {{ customer.first_name }}!\n\n"
        "Everyone at {{ shop.name }} wishes you a wonderful day. Treat yourself: "
        "you have {{ customer.points }} points waiting.\n\n{{ shop.url }}\n",
        "<p>Happy birthday, {{ customer.first_name }}!</p>"
        "<p>Everyone at {{ shop.name }} wishes you a wonderful day. Treat yourself: "
        "you have <strong>{{ customer.points }} points</strong> waiting.</p>"
        '<p><a href="{{ shop.url }}">Visit the shop</a></p>',
    ),
    "win_back": (
        "We miss you, {{ customer.first_name }}",
        "Hi {{ customer.first_name }},\n\n"
        "It's been a while since your last visit to {{ shop.name }}. A lot has changed — "
        "come and have a look.\n\n{{ shop.url }}\n",
        "<p>Hi {{ customer.first_name }},</p>"
        "<p>It's been a while since your last visit to {{ shop.name }}. A lot has changed — "
        'come and have a look.</p><p><a href="{{ shop.url }}">Shop now</a></p>',
    ),
    "order_confirmation": (
        "Order {{ order.order_number }} confirmed",
        "Hi {{ customer.first_name }},\n\n"
        "Thanks for your order {{ order.order_number }}. Here is what you bought:\n\n"
        + _ORDER_LINES_TEXT
        + "\nTotal: {{ order.currency }} {{ order.total }}\n\n"
        "We'll let you know as soon as it ships.\n\nThe {{ shop.name }} team\n",
        "<p>Hi {{ customer.first_name }},</p>"
        "<p>Thanks for your order {{ order.order_number }}. Here is what you bought:</p>"
        + _ORDER_LINES_HTML
        + "<p><strong>Total: {{ order.currency }} {{ order.total }}</strong></p>"
        "<p>We'll let you know as soon as it ships.</p><p>The {{ shop.name }} team</p>",
    ),
    "shipping_update": (
        "Your order {{ order.order_number }} is {{ order.status }}",
        "Hi {{ customer.first_name }},\n\n"
        "Good news: your order {{ order.order_number }} is {{ order.status }}"
        "{% if order.carrier %} with {{ order.carrier }}{% endif %}.\n\n"
        "Track it: {{ order.tracking_url }}\n\nThe {{ shop.name }} team\n",
        "<p>Hi {{ customer.first_name }},</p>"
        "<p>Good news: your order {{ order.order_number }} is {{ order.status }}"
        "{% if order.carrier %} with {{ order.carrier }}{% endif %}.</p>"
        '<p><a href="{{ order.tracking_url }}">Track your parcel</a></p>'
        "<p>The {{ shop.name }} team</p>",
    ),
    "abandoned_cart": (
        "You left something in your cart",
        "Hi {{ customer.first_name }},\n\n"
        "Your cart at {{ shop.name }} is still waiting:\n\n"
        "{% for item in cart.lines %}- {{ item.quantity }} x {{ item.name }}\n{% endfor %}"
        "\nTotal: {{ cart.currency }} {{ cart.total }}\n\nPick up where you left off: "
        "{{ cart.url }}\n",
        "<p>Hi {{ customer.first_name }},</p><p>Your cart at {{ shop.name }} is still "
        "waiting:</p><ul>{% for item in cart.lines %}<li>{{ item.quantity }} x "
        "{{ item.name }}</li>{% endfor %}</ul>"
        "<p><strong>Total: {{ cart.currency }} {{ cart.total }}</strong></p>"
        '<p><a href="{{ cart.url }}">Return to your cart</a></p>',
    ),
    "points_adjusted": (
        "Your points balance changed",
        "Hi {{ customer.first_name }},\n\n"
        "{% if points.delta >= 0 %}We added {{ points.delta }} points to your account"
        "{% else %}We took {{ -points.delta }} points from your account{% endif %}: "
        "{{ points.reason }}.\n\nYour balance is now {{ points.balance }} points.\n\n"
        "The {{ shop.name }} team\n",
        "<p>Hi {{ customer.first_name }},</p>"
        "<p>{% if points.delta >= 0 %}We added {{ points.delta }} points to your account"
        "{% else %}We took {{ -points.delta }} points from your account{% endif %}: "
        "{{ points.reason }}.</p>"
        "<p>Your balance is now <strong>{{ points.balance }} points</strong>.</p>",
    ),
    "tier_upgrade": (
        "You've reached {{ tier.name }}!",
        "Congratulations, {{ customer.first_name }}!\n\n"
        "You are now a {{ tier.name }} member of {{ shop.name }}. Your new benefits:\n\n"
        "{% for benefit in tier.benefits %}- {{ benefit }}\n{% endfor %}"
        "\nThank you for shopping with us.\n",
        "<p>Congratulations, {{ customer.first_name }}!</p>"
        "<p>You are now a <strong>{{ tier.name }}</strong> member of {{ shop.name }}. "
        "Your new benefits:</p>"
        "<ul>{% for benefit in tier.benefits %}<li>{{ benefit }}</li>{% endfor %}</ul>",
    ),
    "back_in_stock": (
        "{{ product.name }} is back in stock",
        "Hi {{ customer.first_name }},\n\n"
        "Good news: {{ product.name }} is back in stock at {{ product.currency }} "
        "{{ product.price }}. It went fast last time.\n\n{{ product.url }}\n",
        "<p>Hi {{ customer.first_name }},</p>"
        '<p><img src="{{ product.image_url }}" alt="{{ product.name }}" width="240"></p>'
        "<p>Good news: <strong>{{ product.name }}</strong> is back in stock at "
        "{{ product.currency }} {{ product.price }}. It went fast last time.</p>"
        '<p><a href="{{ product.url }}">Get it now</a></p>',
    ),
    "flash_sale": (
        "{{ sale.name }}: {{ sale.discount }} off, today only",
        "Hi {{ customer.first_name }},\n\n"
        "{{ sale.name }} is on: {{ sale.discount }} off with code {{ sale.code }}, "
        "until {{ sale.ends_at }}.\n\n{{ sale.url }}\n",
        "<p>Hi {{ customer.first_name }},</p>"
        "<p><strong>{{ sale.name }}</strong> is on: {{ sale.discount }} off with code "
        "<strong>{{ sale.code }}</strong>, until {{ sale.ends_at }}.</p>"
        '<p><a href="{{ sale.url }}">Shop the sale</a></p>',
    ),
}

_SMS: dict[str, str] = {
    "order_confirmation": (
        "{{ shop.name }}: thanks {{ customer.first_name }}! Order {{ order.order_number }} "
        "({{ order.currency }} {{ order.total }}) is confirmed."
    ),
    "shipping_update": (
        "{{ shop.name }}: your order {{ order.order_number }} is {{ order.status }}. "
        "Track it: {{ order.tracking_url }}"
    ),
    "points_adjusted": (
        "{{ shop.name }}: {% if points.delta >= 0 %}+{% endif %}{{ points.delta }} points "
        "({{ points.reason }}). "
        "Balance: {{ points.balance }}."
    ),
    "flash_sale": (
        "{{ shop.name }}: {{ sale.name }}! {{ sale.discount }} off with code {{ sale.code }}. "
        "{{ sale.url }} Reply STOP to opt out"
    ),
    "tier_upgrade": (
        "{{ shop.name }}: congratulations {{ customer.first_name }}, you're now {{ tier.name }}!"
    ),
}


TRANSACTIONAL_KEYS = frozenset(_EMAIL) - MARKETING_KEYS


def category_of(key: str) -> Category:
    """A built-in key's category; any other key is marketing, so a message nobody
    classified goes only to customers who accept marketing."""
    return "transactional" if key in TRANSACTIONAL_KEYS else "marketing"


def _email(key: str, subject: str, text: str, html: str) -> MessageTemplate:
    category = category_of(key)
    if category == "marketing":
        text, html = text + _FOOTER_TEXT, html + _FOOTER_HTML
    return MessageTemplate(
        key=key, channel="email", category=category, subject=subject, text=text, html=html
    )


BUILTIN_TEMPLATES: dict[tuple[str, Channel], MessageTemplate] = {
    **{(key, "email"): _email(key, *parts) for key, parts in _EMAIL.items()},
    **{
        (key, "sms"): MessageTemplate(key=key, channel="sms", category=category_of(key), text=text)
        for key, text in _SMS.items()
    },
}
"""Every built-in template by (key, channel), sorted by key then channel."""
BUILTIN_TEMPLATES = dict(sorted(BUILTIN_TEMPLATES.items()))
BUILTIN_KEYS = tuple(sorted(_EMAIL))


def builtin_template(key: str, channel: Channel) -> MessageTemplate | None:
    return BUILTIN_TEMPLATES.get((key, channel))
