from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "segops_server.accounts"
    label = "accounts"
    verbose_name = "Accounts and tenancy"
