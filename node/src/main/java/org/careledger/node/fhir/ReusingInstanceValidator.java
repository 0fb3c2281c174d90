package org.careledger.node.fhir;

import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.validation.IValidationContext;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r5.context.IWorkerContext;
import org.hl7.fhir.r5.elementmodel.Manager;
import org.hl7.fhir.r5.model.StructureDefinition;
import org.hl7.fhir.r5.utils.validation.ValidatorSession;
import org.hl7.fhir.r5.utils.validation.constants.IdStatus;
import org.hl7.fhir.r5.utils.xver.XVerExtensionManagerOld;
import org.hl7.fhir.utilities.validation.ValidationMessage;
import org.hl7.fhir.validation.ValidatorSettings;
import org.hl7.fhir.validation.instance.InstanceValidator;

/**
 * HAPI's {@link FhirInstanceValidator} with the same rules, but keeping its core validators
 * for reuse.
 *
 * <p>HAPI builds a new {@link InstanceValidator} for every resource it validates, and with the
 * validator libraries this node uses each one starts by reading and parsing the 1.5 MB OID
 * registry that ships in them: JFR put that at about 80 % of a full validation's CPU. This
 * module keeps built validators in a pool instead. A validator serves one resource at a time
 * (it holds state while it works); each one is retired after {@link #USES} resources, so what
 * it keeps from earlier resources stays bounded; at most {@link #IDLE} wait in the pool.
 *
 * <p>The rules are HAPI's: the same settings on each validator, profiles named in
 * {@code meta.profile} looked up in the same way (an unknown one is a warning unless unknown
 * profiles are errors), and the same messages dropped afterwards (a binding without a value
 * set, and the mime types value set not being found). {@code
 * ReusingInstanceValidatorTest} checks that it reports what HAPI's module reports, message for
 * message, on the test resources.
 */
final class ReusingInstanceValidator extends FhirInstanceValidator {
  /** Resources one core validator validates before it is dropped. */
  static final int USES = 200;

  /** Core validators kept idle at most. */
  static final int IDLE = Math.max(2, Runtime.getRuntime().availableProcessors() * 2);

  private static final String PROFILE_UNKNOWN = "Validation_VAL_Profile_Unknown";
  private static final String PROFILE_UNKNOWN_NOT_POLICY =
      "VALIDATION_VAL_PROFILE_UNKNOWN_NOT_POLICY";

  private record Pooled(InstanceValidator validator, AtomicInteger uses) {}

  private final ConcurrentLinkedQueue<Pooled> idle = new ConcurrentLinkedQueue<>();
  private final AtomicInteger built = new AtomicInteger();

  ReusingInstanceValidator(IValidationSupport support) {
    super(support);
  }

  /** Core validators built so far (for tests). */
  int built() {
    return built.get();
  }

  @Override
  protected List<ValidationMessage> validate(IValidationContext<?> context) {
    IWorkerContext worker = provideWorkerContext();
    if (context.getResourceAsStringEncoding() != EncodingEnum.JSON) {
      // XML needs HAPI's own handling of the document; this node validates JSON
      return super.validate(context);
    }
    Pooled p = idle.poll();
    if (p == null) {
      p = new Pooled(build(worker), new AtomicInteger());
    }
    try {
      return run(worker, p.validator(), context);
    } finally {
      if (p.uses().incrementAndGet() < USES && idle.size() < IDLE) {
        idle.offer(p);
      }
    }
  }

  private InstanceValidator build(IWorkerContext worker) {
    built.incrementAndGet();
    var host = getHostApplicationServices() != null ? getHostApplicationServices()
        : new FhirInstanceValidator.NullEvaluationContext();
    InstanceValidator v;
    try {
      v = new InstanceValidator(worker, host, new XVerExtensionManagerOld(worker),
          new ValidatorSession(), new ValidatorSettings());
    } catch (Exception e) {
      throw new IllegalStateException("the FHIR validator could not be set up", e);
    }
    v.setAssumeValidRestReferences(isAssumeValidRestReferences());
    v.setBestPracticeWarningLevel(getBestPracticeWarningLevel());
    v.setAnyExtensionsAllowed(isAnyExtensionsAllowed());
    v.setResourceIdRule(IdStatus.OPTIONAL);
    v.setNoTerminologyChecks(isNoTerminologyChecks());
    v.setErrorForUnknownProfiles(isErrorForUnknownProfiles());
    v.setUnknownCodeSystemsCauseErrors(false);
    v.getExtensionDomains().addAll(getExtensionDomains());
    v.setFetcher(getValidatorResourceFetcher());
    v.setPolicyAdvisor(getValidatorPolicyAdvisor());
    v.setNoExtensibleWarnings(isNoExtensibleWarnings());
    v.setNoBindingMsgSuppressed(isNoBindingMsgSuppressed());
    v.setAllowExamples(isAllowExamples());
    v.setAllowXsiLocation(true);
    return v;
  }

  private List<ValidationMessage> run(IWorkerContext worker, InstanceValidator v,
      IValidationContext<?> context) {
    List<ValidationMessage> messages = new ArrayList<>();
    List<StructureDefinition> profiles = new ArrayList<>();
    List<ValidationMessage> profileMessages = new ArrayList<>();
    for (String url : context.getOptions().getProfiles()) {
      addProfile(worker, url, profiles, profileMessages);
    }
    String json = context.getResourceAsString();
    com.google.gson.JsonObject root;
    try {
      root = com.google.gson.JsonParser.parseString(json).getAsJsonObject();
    } catch (RuntimeException e) {
      root = null;
    }
    if (root != null && root.has("meta") && root.get("meta").isJsonObject()) {
      var declared = root.getAsJsonObject("meta").get("profile");
      if (declared != null && declared.isJsonArray()) {
        for (var e : declared.getAsJsonArray()) {
          addProfile(worker, e.getAsString(), profiles, profileMessages);
        }
      }
    }
    v.validate(context.getOptions().getAppContext(), messages,
        new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
        Manager.FhirFormat.JSON, profiles);
    if (profiles.isEmpty() && !profileMessages.isEmpty()) {
      messages.addAll(profileMessages);
    }
    List<ValidationMessage> kept = new ArrayList<>(messages.size());
    for (ValidationMessage m : messages) {
      if (dropped(m)) {
        continue;
      }
      if (PROFILE_UNKNOWN.equals(m.getMessageId())
          || PROFILE_UNKNOWN_NOT_POLICY.equals(m.getMessageId())) {
        m.setLevel(isErrorForUnknownProfiles() ? ValidationMessage.IssueSeverity.ERROR
            : ValidationMessage.IssueSeverity.WARNING);
      }
      kept.add(m);
    }
    return kept;
  }

  private void addProfile(IWorkerContext worker, String url, List<StructureDefinition> profiles,
      List<ValidationMessage> messages) {
    StructureDefinition sd;
    try {
      sd = worker.fetchResource(StructureDefinition.class, url);
    } catch (org.hl7.fhir.exceptions.FHIRException e) {
      return; // as HAPI: a profile that fails to load is left out, without a message
    }
    if (sd != null) {
      profiles.add(sd);
    } else {
      messages.add(new ValidationMessage().setMessageId(PROFILE_UNKNOWN)
          .setLevel(ValidationMessage.IssueSeverity.ERROR)
          .setMessage("Invalid profile. Failed to retrieve profile with url=" + url));
    }
  }

  private static boolean dropped(ValidationMessage m) {
    String id = m.getMessageId();
    return id != null && ("Terminology_TX_Binding_NoSource".equals(id)
        || ("Terminology_TX_ValueSet_NotFound".equals(id)
            && m.getMessage().contains("http://hl7.org/fhir/ValueSet/mimetypes")));
  }
}
