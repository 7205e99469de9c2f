"""Children, consent, agencies and the staff directory (owner: the consent service)."""
from gateway.http import api, json_result
from gateway.idempotency import idempotent

ETAG = "ETag"


class ConsentRoutes:
    # -- children ---------------------------------------------------------------------------

    @api("GET", "/children", "Children of the logged-in guardian (or the youth themself)",
         response="Child", listing=True)
    def my_children(self, request):
        self._authenticate(request)
        return self._listing(request, self.consent.my_children())

    @api("POST", "/children", "Register a child by its national id (staff; in the body "
         "only): name, birth date and guardians come from the population register; "
         "registering again refreshes them", request="ChildRegistration", response="Child",
         status=201)
    @idempotent
    def register_child(self, request):
        self._authenticate(request)
        # the number travels in one call only; the registration itself goes by person id
        resolved = self.consent.resolve_citizen("register", self._body(request))
        child = self.consent.register_child(resolved["person_id"])
        return json_result(child, 201, {"Location": f"/api/v1/children/{child['id']}"})

    @api("POST", "/children/search", "Find a child by national id (in the body, never the URL)",
         request="ChildSearch", response="Child")
    def find_child(self, request):
        self._authenticate(request)
        resolved = self.consent.resolve_citizen("search", self._body(request))
        return self.consent.find_child(resolved["person_id"])

    # -- consents ---------------------------------------------------------------------------

    @api("GET", "/children/<child_id>/consents", "The child's consents, current and past",
         response="Consent", listing=True)
    def list_consents(self, request, child_id):
        self._authenticate(request)
        return self._listing(request, self.consent.list_consents(child_id))

    @api("POST", "/children/<child_id>/consents", "Grant consent (guardian or youth), or "
         "record a paper form (staff)", request="ConsentRequest", response="Consent",
         status=201, etag=True)
    @idempotent
    def grant_consent(self, request, child_id):
        self._authenticate(request)
        consent = self.consent.grant_consent(child_id, self._body(request))
        return json_result(consent, 201, {"Location": f"/api/v1/consents/{consent['id']}",
                                          ETAG: f'"{consent["version"]}"'})

    @api("GET", "/consents/<consent_id>", "One consent", response="Consent", etag=True)
    def get_consent(self, request, consent_id):
        self._authenticate(request)
        consent = self.consent.get_consent(consent_id)
        return json_result(consent, 200, {ETAG: f'"{consent["version"]}"'})

    @api("POST", "/consents/<consent_id>/approve", "A further guardian consents (policy "
         "'all')", response="Consent", if_match=True)
    def approve_consent(self, request, consent_id):
        self._authenticate(request)
        consent = self.consent.approve_consent(consent_id, self._if_match(request))
        return json_result(consent, 200, {ETAG: f'"{consent["version"]}"'})

    @api("POST", "/consents/<consent_id>/withdraw", "Withdraw consent (If-Match optional: "
         "withdrawing is never harder than granting; a stale one is refused)",
         response="Consent", etag=True,
         query=({"name": "If-Match", "in": "header", "required": False,
                 "schema": {"type": "string"}},))
    def withdraw_consent(self, request, consent_id):
        self._authenticate(request)
        consent = self.consent.withdraw_consent(consent_id, self._if_match(request))
        return json_result(consent, 200, {ETAG: f'"{consent["version"]}"'})

    @api("GET", "/consents/<consent_id>/fhir", "The consent as a FHIR R5 Consent resource",
         media_type="application/fhir+json")
    def consent_fhir(self, request, consent_id):
        self._authenticate(request)
        return json_result(self.consent.consent_fhir(consent_id),
                           content_type="application/fhir+json")

    # -- agencies and staff -----------------------------------------------------------------

    @api("GET", "/agencies", "The agencies of the municipality (staff)", response="Agency",
         listing=True)
    def list_agencies(self, request):
        self._authenticate(request)
        return self._listing(request, self.consent.list_agencies())

    @api("GET", "/agencies/<org_number>/staff", "Staff directory of an agency (staff)",
         response="Staff", listing=True)
    def list_staff(self, request, org_number):
        self._authenticate(request)
        return self._listing(request, self.consent.list_staff(org_number))

    @api("POST", "/agencies/<org_number>/staff", "Pre-provision a staff member of one's own "
         "agency (agency administrator)", request="StaffRequest", response="Staff",
         status=201)
    @idempotent
    def provision_staff(self, request, org_number):
        self._authenticate(request)
        # the new colleague logs in through the administrator's identity provider;
        # the consent service checks the administrator role and agency
        body = {**self._body(request), "agency": org_number,
                "issuer": self._identity["issuer"]}
        return json_result(self.consent.provision_staff(body), 201)
