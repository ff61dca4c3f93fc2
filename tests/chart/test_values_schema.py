"""values.schema.json refuses bad values at `helm install` time, naming the key and the rule."""

from __future__ import annotations

from typing import Any

import pytest
from helm_python import HelmValuesError

from tests.support.helm_chart import render, validate_values

from .values_sets import VALUE_SETS

BAD_VALUES = [
    ({"image": {"tag": 0.1}}, "at '/image/tag': got number, want string"),
    ({"image": {"pullPolicy": "Sometimes"}}, "'Always', 'IfNotPresent', 'Never'"),
    ({"operatr": {}}, "additional properties 'operatr' not allowed"),
    ({"operator": {"watchNamespaces": ["Team_A"]}}, "at '/operator/watchNamespaces/0': 'Team_A'"),
    ({"operator": {"interval": 0}}, "at '/operator/interval'"),
    ({"database": {"queuePrefix": "My-Schema"}}, "at '/database/queuePrefix': 'My-Schema'"),
    ({"quickStartSecrets": {"create": True}}, "at '/quickStartSecrets/databaseUrl'"),
    (
        {
            "quickStartSecrets": {
                "create": True,
                "databaseUrl": "mysql://x",
                "slack": {"botToken": "x"},
            }
        },
        "'mysql://x' does not match pattern '^postgres(ql)?://'",
    ),
    (
        {"examplePIIQueue": {"spec": {"queues": {"events": 0}}}},
        "/examplePIIQueue/spec/queues/events",
    ),
    ({"examplePIIQueue": {"spec": {"queues": {"Events": 1}}}}, "'Events' does not match pattern"),
    ({"tests": {"timeout": "a minute"}}, "at '/tests/timeout': 'a minute'"),
    ({"migrations": {"hook": "yes"}}, "at '/migrations/hook': got string, want boolean"),
    ({"migrations": {"activeDeadlineSeconds": 0}}, "at '/migrations/activeDeadlineSeconds'"),
    ({"migrations": {"hooks": False}}, "additional properties 'hooks' not allowed"),
]


@pytest.mark.parametrize(("values", "message"), BAD_VALUES)
def test_bad_values_are_refused_with_the_key_and_the_rule(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmValuesError) as refused:
        validate_values(values)
    assert message in str(refused.value)


def test_install_refuses_before_rendering_anything() -> None:
    with pytest.raises(HelmValuesError, match="quickStartSecrets/slack/botToken"):
        render({"quickStartSecrets": {"create": True, "databaseUrl": "postgresql://x@y/z"}})


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_the_value_sets_the_tests_render_are_valid(values: dict[str, Any]) -> None:
    validate_values(values)
