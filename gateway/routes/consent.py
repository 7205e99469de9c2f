"""Children, consent and the staff directory (owner: the consent service)."""
from gateway.http import api, json_result
from gateway.idempotency import idempotent


class ConsentRoutes:
    @api("GET", "/children")
    def my_children(self, request):
        self._authenticate(request)
        return {"items": self.consent.my_children()}

    @api("POST", "/children/search")
    def find_child(self, request):
        self._authenticate(request)
        return self.consent.find_child(self._body(request))

    @api("GET", "/children/<child_id>/consents")
    def list_consents(self, request, child_id):
        self._authenticate(request)
        return {"items": self.consent.list_consents(child_id)}

    @api("POST", "/children/<child_id>/consents")
    @idempotent
    def grant_consent(self, request, child_id):
        self._authenticate(request)
        consent = self.consent.grant_consent(child_id, self._body(request))
        return json_result(consent, 201, {"Location": f"/api/v1/consents/{consent['id']}"})

    @api("POST", "/consents/<consent_id>/withdraw")
    def withdraw_consent(self, request, consent_id):
        self._authenticate(request)
        return self.consent.withdraw_consent(consent_id, self._if_match(request))

    @api("GET", "/agencies/<org_number>/staff")
    def list_staff(self, request, org_number):
        self._authenticate(request)
        return {"items": self.consent.list_staff(org_number)}

    @api("POST", "/children")
    @idempotent
    def register_child(self, request):
        """Staff register a child and its guardians (national ids in the body only)."""
        self._authenticate(request)
        child = self.consent.register_child(self._body(request))
        return json_result(child, 201, {"Location": f"/api/v1/children/{child['id']}"})

    @api("GET", "/consents/<consent_id>")
    def get_consent(self, request, consent_id):
        self._authenticate(request)
        consent = self.consent.get_consent(consent_id)
        return json_result(consent, 200, {"ETag": f'"{consent["version"]}"'})

    @api("POST", "/consents/<consent_id>/approve")
    def approve_consent(self, request, consent_id):
        self._authenticate(request)
        return self.consent.approve_consent(consent_id, self._if_match(request))

    @api("GET", "/consents/<consent_id>/fhir")
    def consent_fhir(self, request, consent_id):
        self._authenticate(request)
        return json_result(self.consent.consent_fhir(consent_id),
                           content_type="application/fhir+json")

    @api("GET", "/agencies")
    def list_agencies(self, request):
        self._authenticate(request)
        return {"items": self.consent.list_agencies()}

    @api("POST", "/agencies/<org_number>/staff")
    @idempotent
    def provision_staff(self, request, org_number):
        """An agency administrator pre-provisions a staff member of their own agency."""
        self._authenticate(request)
        # the new colleague logs in through the administrator's identity provider;
        # the consent service checks the administrator role and agency
        body = {**self._body(request), "agency": org_number,
                "issuer": self._identity["issuer"]}
        return json_result(self.consent.provision_staff(body), 201)
