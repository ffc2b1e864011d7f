"""The one table of the attributes each error class carries in its problem."""

from creditline.domain.errors import (
    ERROR_CODES,
    ERROR_MEMBERS,
    InsufficientCredits,
    OrganizationNotFound,
    ProjectNotFound,
    SchemaOutOfDate,
    SelfServeUnavailable,
    ValidationError,
    error_members,
)


def test_a_class_not_listed_takes_its_nearest_base_class_members() -> None:
    assert error_members(ProjectNotFound) == ("ident",)
    assert error_members(SelfServeUnavailable) == ("org_id", "country")
    assert error_members(OrganizationNotFound) == ()


def test_an_error_of_its_message_alone_has_no_members() -> None:
    assert error_members(ValidationError) is None
    assert error_members(SchemaOutOfDate) is None


def test_every_error_listed_has_a_code() -> None:
    assert error_members(InsufficientCredits) == ("org_id", "overdue_invoice")
    assert set(ERROR_MEMBERS) <= set(ERROR_CODES)
