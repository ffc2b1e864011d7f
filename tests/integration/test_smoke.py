from creditline import Creditline, credits


def test_a_grant_then_a_spend_leave_the_rest(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    cl.grant(org.id, credits(10))
    cl.spend(org.id, credits(3))
    assert cl.balance(org.id).available == credits(7)
    assert cl.verify().ok
