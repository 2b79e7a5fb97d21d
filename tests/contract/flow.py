"""The first steps of a municipal system, with the client openapi-python-client generates from
openapi/openapi.json (package `ips_client`, on the Python path):

admin login -> municipality -> staff invitation -> staff accepts -> candidate -> the candidate
accepts -> candidate login -> GET /me/plan -> WHO-5 answered.

Usage: python flow.py BASE_URL ADMIN_USERNAME ADMIN_PASSWORD
Every call goes through the generated functions and models; an answer the spec does not describe
makes the client raise (raise_on_unexpected_status), so this fails on any drift.
"""

import random
import sys
import uuid

from ips_client import AuthenticatedClient, Client
from ips_client.api.accounts import create_municipality, create_staff, get_me
from ips_client.api.auth import accept_invitation, login
from ips_client.api.candidates import create_candidate
from ips_client.api.plan import get_my_plan
from ips_client.api.questionnaires import create_my_questionnaire_response
from ips_client.models import (
    AcceptInvitation,
    CandidateCreate,
    CandidateCreated,
    LoginRequest,
    Me,
    Municipality,
    MunicipalityCreate,
    MyQuestionnaireResponse,
    Plan,
    Problem,
    QuestionnaireAnswerCreate,
    QuestionnaireKey,
    QuestionnaireResponseCreate,
    Readiness,
    Role,
    StaffCreate,
    StaffCreated,
    StaffRole,
    TargetGroup,
    TokenResponse,
)


def expect(value, kind, what):
    if not isinstance(value, kind):
        raise SystemExit(f"{what}: expected {kind.__name__}, got {value!r}")
    return value


def main() -> None:
    base, admin_user, admin_password = sys.argv[1:4]
    public = Client(base_url=base, raise_on_unexpected_status=True)

    def as_user(token: TokenResponse) -> AuthenticatedClient:
        return AuthenticatedClient(
            base_url=base, token=token.access_token, raise_on_unexpected_status=True
        )

    admin = as_user(
        expect(
            login.sync(client=public, body=LoginRequest(username=admin_user, password=admin_password)),
            TokenResponse,
            "admin login",
        )
    )
    me = expect(get_me.sync(client=admin), Me, "GET /me as admin")
    assert me.role == Role.ADMIN and me.municipality_id is None, me

    # A three-digit municipality number nobody has taken yet (taken ones answer 409).
    municipality = None
    for code in random.sample(range(100, 1000), 30):
        answer = create_municipality.sync(
            client=admin,
            body=MunicipalityCreate(name=f"Flow Kommune {code}", code=str(code)),
            idempotency_key=str(uuid.uuid4()),
        )
        if isinstance(answer, Municipality):
            municipality = answer
            break
        assert isinstance(answer, Problem) and answer.status == 409, answer
    municipality = expect(municipality, Municipality, "POST /municipalities")

    staff = expect(
        create_staff.sync(
            client=admin,
            body=StaffCreate(
                municipality_id=municipality.id,
                display_name="Flow Koordinator",
                email="flow.koordinator@example.org",
                role=StaffRole.COORDINATOR,
            ),
        ),
        StaffCreated,
        "POST /staff",
    )
    suffix = uuid.uuid4().hex[:8]
    coordinator = as_user(
        expect(
            accept_invitation.sync(
                code=staff.invitation.code,
                client=public,
                body=AcceptInvitation(username=f"flow.koord.{suffix}", password="flow-koordinator-2026"),
            ),
            TokenResponse,
            "staff accepts the invitation",
        )
    )

    created = expect(
        create_candidate.sync(
            client=coordinator,
            body=CandidateCreate(
                given_name="Sofie",
                family_name="Jensen",
                birth_year=2005,
                target_group=TargetGroup.MENTAL_DISTRESS,
                readiness=Readiness.EDUCATION_READY,
                consultant_id=staff.staff.id,
            ),
            idempotency_key=str(uuid.uuid4()),
        ),
        CandidateCreated,
        "POST /candidates",
    )
    expect(
        accept_invitation.sync(
            code=created.invitation.code,
            client=public,
            body=AcceptInvitation(username=f"flow.sofie.{suffix}", password="flow-kandidat-2026"),
        ),
        TokenResponse,
        "the candidate accepts the invitation",
    )
    candidate = as_user(
        expect(
            login.sync(
                client=public,
                body=LoginRequest(username=f"flow.sofie.{suffix}", password="flow-kandidat-2026"),
            ),
            TokenResponse,
            "candidate login",
        )
    )

    plan = expect(get_my_plan.sync(client=candidate), Plan, "GET /me/plan")
    assert plan.candidate.id == created.candidate.id, plan
    assert plan.latest_wellbeing is None, plan

    items = ["cheerful", "calm", "active", "rested", "interested"]
    answered = expect(
        create_my_questionnaire_response.sync(
            client=candidate,
            body=QuestionnaireResponseCreate(
                questionnaire=QuestionnaireKey.WHO5,
                version=1,
                answers=[QuestionnaireAnswerCreate(item=i, value=4) for i in items],
            ),
            idempotency_key=str(uuid.uuid4()),
        ),
        MyQuestionnaireResponse,
        "POST /me/questionnaire-responses",
    )
    assert answered.raw_score == 20 and answered.score == 80, answered

    plan = expect(get_my_plan.sync(client=candidate), Plan, "GET /me/plan after WHO-5")
    assert plan.latest_wellbeing is not None and plan.latest_wellbeing.score == 80, plan
    print("python client flow: ok")


if __name__ == "__main__":
    main()
