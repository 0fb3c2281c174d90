package org.careledger.node.fhir;

import ca.uhn.fhir.rest.api.server.IBundleProvider;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IPrimitiveType;
import org.hl7.fhir.r4.model.InstantType;

/** Search results that are decrypted and checked only for the page being returned. */
final class HitBundle implements IBundleProvider {
  private final RecordStore store;
  private final List<RecordStore.Hit> hits;
  private final String uuid = UUID.randomUUID().toString();
  private final InstantType published = new InstantType(new Date());

  HitBundle(RecordStore store, List<RecordStore.Hit> hits) {
    this.store = store;
    this.hits = List.copyOf(hits);
  }

  @Override
  public IPrimitiveType<Date> getPublished() {
    return published;
  }

  @Override
  public List<IBaseResource> getResources(int from, int to) {
    List<IBaseResource> out = new ArrayList<>();
    for (int i = Math.max(0, from); i < Math.min(to, hits.size()); i++) {
      try {
        IBaseResource r = store.load(hits.get(i));
        if (r != null) {
          out.add(r);
        }
      } catch (RecordStore.StoreException e) {
        throw Outcomes.map(e);
      }
    }
    return out;
  }

  @Override
  public String getUuid() {
    return uuid;
  }

  @Override
  public Integer preferredPageSize() {
    return null;
  }

  @Override
  public Integer size() {
    return hits.size();
  }
}
