"""Children, consent and the staff directory (owner: the consent service)."""
from gateway.http import api, json_result


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
    def grant_consent(self, request, child_id):
        self._authenticate(request)
        consent = self.consent.grant_consent(child_id, self._body(request))
        return json_result(consent, 201, {"Location": f"/api/v1/consents/{consent['id']}"})

    @api("POST", "/consents/<consent_id>/withdraw")
    def withdraw_consent(self, request, consent_id):
        self._authenticate(request)
        return self.consent.withdraw_consent(consent_id)

    @api("GET", "/agencies/<org_number>/staff")
    def list_staff(self, request, org_number):
        self._authenticate(request)
        return {"items": self.consent.list_staff(org_number)}
