//===- AmpTypes.td - amp types -----------------------------*- tablegen -*-===//
//
// The handle of a collective in flight.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_DIALECT_AMP_IR_AMPTYPES_TD
#define AMPC_DIALECT_AMP_IR_AMPTYPES_TD

include "ampc/Dialect/Amp/IR/AmpBase.td"

class Amp_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Amp_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Amp_RequestType : Amp_Type<"Request", "request"> {
  let summary = "an all-reduce in flight";
  let description = [{
    What `amp.all_reduce_start` returns and `amp.all_reduce_wait` consumes:
    the communication it names runs while the ops between them compute. A
    back end lowers it to the runtime's handle (an i64 on the CPU).

    Example: `!amp.request`
  }];
}

#endif // AMPC_DIALECT_AMP_IR_AMPTYPES_TD
